using Google.Protobuf;
using Grpc.Core;
using Tiered.Bookie.V1;
using Tiered.Proto.Streams;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Ledger.Tests.InProcess;

using Metadata = Grpc.Core.Metadata;

/// <summary>An in-process call behaves as a gRPC call over the network would, one behaviour at a time.</summary>
public sealed class InProcessCallInvokerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ScriptedBookie _service = new();
    private readonly InProcessCallInvoker _invoker;
    private readonly BookieRpc.BookieClient _client;

    public InProcessCallInvokerTests()
    {
        _invoker = new InProcessCallInvoker(binder => BookieRpc.BindService(binder, _service));
        _client = new BookieRpc.BookieClient(_invoker);
    }

    [Fact]
    public async Task A_unary_call_returns_the_handlers_response_with_OK_status_headers_and_trailers()
    {
        using var call = _client.ReadEntryAsync(new ReadRequest { LedgerId = 7, EntryId = 9 }, new Metadata { { "x-test", "hello" } });
        var response = await call.ResponseAsync.WaitAsync(Patience);

        Assert.Equal((7, 9, "hello"), (response.LedgerId, response.EntryId, response.Message));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.Equal("inproc", call.GetTrailers().GetValue("peer"));
        Assert.Equal(9, _client.ReadEntry(new ReadRequest { LedgerId = 7, EntryId = 9 }).EntryId);
    }

    [Fact]
    public async Task A_handler_exception_becomes_an_RpcException_with_status_Unknown_and_its_message()
    {
        using var call = _client.ReadEntryAsync(new ReadRequest { LedgerId = ScriptedBookie.Throws });
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Patience));

        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.Contains("the disk caught fire", e.Status.Detail);
        Assert.Equal(StatusCode.Unknown, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task An_RpcException_from_a_handler_reaches_the_client_as_is_with_its_trailers()
    {
        using var call = _client.ReadEntryAsync(new ReadRequest { LedgerId = ScriptedBookie.ThrowsRpc });
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Patience));

        Assert.Equal((StatusCode.NotFound, "no such thing"), (e.StatusCode, e.Status.Detail));
        Assert.Equal("because", e.Trailers.GetValue("why"));
        Assert.Equal("because", call.GetTrailers().GetValue("why"));
    }

    [Fact]
    public async Task A_method_the_service_does_not_implement_fails_with_Unimplemented()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _client.InfoAsync(new InfoRequest()).ResponseAsync.WaitAsync(Patience));

        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
    }

    [Fact]
    public async Task A_deadline_expires_with_DeadlineExceeded_and_cancels_the_handler()
    {
        using var call = _client.ReadEntryAsync(new ReadRequest { LedgerId = ScriptedBookie.Hangs }, deadline: DateTime.UtcNow.AddMilliseconds(200));
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Patience));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await _service.ServerSawCancellation.Task.WaitAsync(Patience);
        Assert.Equal(StatusCode.DeadlineExceeded, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Status_and_trailers_are_not_available_before_the_call_completes()
    {
        using var call = _client.ReadEntryAsync(new ReadRequest { LedgerId = ScriptedBookie.Hangs });

        Assert.Throws<InvalidOperationException>(() => call.GetStatus());
        Assert.Throws<InvalidOperationException>(() => call.GetTrailers());
        call.Dispose();
        await _service.ServerSawCancellation.Task.WaitAsync(Patience);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task A_duplex_call_carries_10000_messages_each_way_in_order_and_completing_requests_ends_both_streams()
    {
        using var call = _client.AddEntries();
        var reading = Task.Run(async () =>
        {
            var next = 0L;
            await foreach (var response in call.ResponseStream.ReadAllAsync())
                Assert.Equal(next++, response.EntryId);
            return next;
        });
        for (var i = 0; i < 10_000; i++)
            await call.RequestStream.WriteAsync(new AddRequest { LedgerId = 5, EntryId = i });
        await call.RequestStream.CompleteAsync();

        Assert.Equal(10_000, await reading.WaitAsync(Patience));
        Assert.Equal(10_000, await _service.ServerSawRequestsEnd.Task.WaitAsync(Patience));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        await Assert.ThrowsAsync<InvalidOperationException>(() => call.RequestStream.WriteAsync(new AddRequest()));
    }

    [Fact]
    public async Task Writing_to_a_call_the_server_already_ended_throws_its_status_even_OK()
    {
        using var call = _client.AddEntries();
        await call.RequestStream.WriteAsync(new AddRequest { LedgerId = ScriptedBookie.EndsCall });
        Assert.False(await call.ResponseStream.MoveNext().WaitAsync(Patience));

        var e = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new AddRequest { LedgerId = 5 }).WaitAsync(Patience));
        Assert.Equal(StatusCode.OK, e.StatusCode);
    }

    [Fact]
    public async Task Cancelling_a_duplex_call_cancels_the_server_side_and_fails_the_clients_reads_with_Cancelled()
    {
        using var cancel = new CancellationTokenSource();
        using var call = _client.AddEntries(cancellationToken: cancel.Token);
        await call.RequestStream.WriteAsync(new AddRequest { LedgerId = 5, EntryId = 0 });
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Patience));

        await call.RequestStream.WriteAsync(new AddRequest { LedgerId = ScriptedBookie.Hangs, EntryId = 1 });
        await cancel.CancelAsync();

        await _service.ServerSawCancellation.Task.WaitAsync(Patience);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WaitAsync(Patience));
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        var write = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new AddRequest { LedgerId = 5 }).WaitAsync(Patience));
        Assert.Equal(StatusCode.Cancelled, write.StatusCode);
    }

    [Fact]
    public async Task Disposing_a_duplex_call_cancels_the_server_side()
    {
        var call = _client.AddEntries();
        await call.RequestStream.WriteAsync(new AddRequest { LedgerId = 5, EntryId = 0 });
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(Patience));

        call.Dispose();

        await _service.ServerSawCancellation.Task.WaitAsync(Patience);
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task A_server_stream_delivers_what_was_written_and_then_the_handlers_failure()
    {
        var ok = await _client.ReadRange(new ReadRangeRequest { LedgerId = 5, FirstEntryId = 0, LastEntryId = 999 })
            .ResponseStream.ReadAllAsync().CountAsync().AsTask().WaitAsync(Patience);
        Assert.Equal(1000, ok);

        using var failing = _client.ReadRange(new ReadRangeRequest { LedgerId = ScriptedBookie.Throws, FirstEntryId = 0, LastEntryId = 2 });
        var received = new List<long>();
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var response in failing.ResponseStream.ReadAllAsync())
                received.Add(response.EntryId);
        });
        Assert.Equal([0, 1, 2], received);
        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.Contains("the range ended badly", e.Status.Detail);
    }

    [Fact]
    public async Task A_client_stream_ends_the_servers_reader_on_complete_and_returns_one_response()
    {
        var marshaller = Marshallers.Create((AddRequest m) => m.ToByteArray(), AddRequest.Parser.ParseFrom);
        var method = new Method<AddRequest, AddRequest>(MethodType.ClientStreaming, "test.Sum", "Sum", marshaller, marshaller);
        var invoker = new InProcessCallInvoker(binder => binder.AddMethod(method, (ClientStreamingServerMethod<AddRequest, AddRequest>)(async (requests, context) =>
        {
            var sum = 0L;
            await foreach (var request in requests.ReadAllAsync(context.CancellationToken))
                sum += request.EntryId;
            return new AddRequest { EntryId = sum };
        })));

        using var call = invoker.AsyncClientStreamingCall(method, null, new CallOptions());
        for (var i = 1; i <= 100; i++)
            await call.RequestStream.WriteAsync(new AddRequest { EntryId = i });
        await call.RequestStream.CompleteAsync();

        Assert.Equal(5050, (await call.ResponseAsync.WaitAsync(Patience)).EntryId);
    }

    [Fact]
    public async Task Shutdown_ends_calls_in_flight_and_refuses_new_ones_with_Unavailable()
    {
        using var call = _client.AddEntries();
        await call.RequestStream.WriteAsync(new AddRequest { LedgerId = ScriptedBookie.Hangs });

        _invoker.Shutdown();

        await _service.ServerSawCancellation.Task.WaitAsync(Patience);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WaitAsync(Patience));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        var refused = await Assert.ThrowsAsync<RpcException>(() => _client.ReadEntryAsync(new ReadRequest { LedgerId = 5 }).ResponseAsync.WaitAsync(Patience));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
    }
}
