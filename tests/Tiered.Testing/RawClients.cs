using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Tiered.V1;

namespace Tiered.Testing;

/// <summary>
/// Producers and consumers written directly on the generated gRPC client of client.proto — what
/// any other language's stack would do — so that these tests check the broker alone.
/// </summary>
public sealed class RawProducer : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ProduceRequest, ProduceResponse> _call;
    private ulong _sequence;

    /// <summary>The next message's sequence id: after the ids the topic stored for this producer name, as a client must.</summary>
    private ulong _nextMessage;

    private RawProducer(AsyncDuplexStreamingCall<ProduceRequest, ProduceResponse> call, ProducerOpened opened)
        => (_call, Opened, _nextMessage) = (call, opened, (ulong)(opened.LastSequenceId + 1));

    public ProducerOpened Opened { get; }

    public static async Task<RawProducer> OpenAsync(Messaging.MessagingClient client, string topic, string? name = null)
    {
        var call = client.Produce();
        await call.RequestStream.WriteAsync(new ProduceRequest { Open = new OpenProducer { Topic = topic, ProducerName = name ?? "" } });
        if (!await call.ResponseStream.MoveNext(CancellationToken.None))
            throw new InvalidOperationException("The broker ended the stream without answering OpenProducer.");
        return new RawProducer(call, call.ResponseStream.Current.Opened);
    }

    public static MessageBatch Batch(IEnumerable<string> payloads, string? key = null)
    {
        var batch = new MessageBatch { FormatVersion = 1, PublishTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
        foreach (var payload in payloads)
            batch.Messages.Add(new Message { Payload = ByteString.CopyFromUtf8(payload), Key = key ?? "" });
        return batch;
    }

    /// <summary>Sends batches pipelined (up to <paramref name="window"/> unanswered) and returns every answer, in order.</summary>
    public async Task<List<ProduceResponse>> SendAllAsync(IEnumerable<MessageBatch> batches, int window = 256)
    {
        var answers = new List<ProduceResponse>();
        var inFlight = 0;
        foreach (var batch in batches)
        {
            batch.SequenceId = _nextMessage;
            _nextMessage += (ulong)batch.Messages.Count;
            await _call.RequestStream.WriteAsync(new ProduceRequest { Send = new SendBatch { SequenceId = _sequence++, Batch = batch } });
            if (++inFlight >= window)
            {
                answers.Add(await NextAsync());
                inFlight--;
            }
        }
        for (; inFlight > 0; inFlight--)
            answers.Add(await NextAsync());
        return answers;
    }

    /// <summary>Sends one batch with the sequence id it carries (a resend, or a deliberate overlap) and waits for its answer.</summary>
    public async Task<ProduceResponse> SendAsIsAsync(MessageBatch batch)
    {
        await _call.RequestStream.WriteAsync(new ProduceRequest { Send = new SendBatch { SequenceId = _sequence++, Batch = batch } });
        return await NextAsync();
    }

    private async Task<ProduceResponse> NextAsync()
    {
        if (!await _call.ResponseStream.MoveNext(CancellationToken.None))
            throw new InvalidOperationException("The broker ended the produce stream.");
        return _call.ResponseStream.Current;
    }

    public async ValueTask DisposeAsync()
    {
        await _call.RequestStream.CompleteAsync();
        while (await _call.ResponseStream.MoveNext(CancellationToken.None))
        {
        }
        _call.Dispose();
    }
}

/// <summary>One message as a consumer sees it.</summary>
public readonly record struct Received(long LedgerId, long EntryId, int BatchIndex, int BatchSize, string Payload, int RedeliveryCount);

public sealed class RawConsumer : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ConsumeRequest, ConsumeResponse> _call;
    private readonly Channel<Received> _messages = Channel.CreateUnbounded<Received>();
    private readonly Dictionary<ulong, TaskCompletionSource<string>> _acks = [];
    private readonly Task _reading;
    private ulong _nextAck;

    private RawConsumer(AsyncDuplexStreamingCall<ConsumeRequest, ConsumeResponse> call, Subscribed subscribed)
    {
        (_call, Subscribed) = (call, subscribed);
        _reading = Task.Run(ReadAsync);
    }

    public Subscribed Subscribed { get; }

    public volatile bool IsActive;

    /// <summary>The status the broker ended the stream with, once it did.</summary>
    public Status? EndedWith { get; private set; }

    public static async Task<RawConsumer> SubscribeAsync(Messaging.MessagingClient client, Subscribe subscribe, uint permits = 1000)
    {
        var call = client.Consume();
        await call.RequestStream.WriteAsync(new ConsumeRequest { Subscribe = subscribe });
        if (!await call.ResponseStream.MoveNext(CancellationToken.None))
            throw new InvalidOperationException("The broker ended the stream without answering Subscribe.");
        var consumer = new RawConsumer(call, call.ResponseStream.Current.Subscribed);
        if (permits > 0)
            await consumer.FlowAsync(permits);
        return consumer;
    }

    /// <summary>
    /// Reads a topic from its first message with a reader: the payloads of the first <paramref name="expected"/>
    /// messages (each awaited up to <paramref name="wait"/>), then any more that arrive within 300 ms, so that a
    /// caller comparing the list also sees a message stored more often than it should be.
    /// </summary>
    public static async Task<List<string>> ReadAllAsync(Messaging.MessagingClient client, string topic, int expected, TimeSpan wait)
    {
        await using var reader = await SubscribeAsync(client, new Subscribe { Topic = topic, Reader = true, InitialPosition = InitialPosition.Earliest }, 10_000);
        var read = new List<string>();
        while (read.Count < expected && await reader.ReceiveAsync(wait) is { } m)
            read.Add(m.Payload);
        while (await reader.ReceiveAsync(TimeSpan.FromMilliseconds(300)) is { } extra)
            read.Add(extra.Payload);
        return read;
    }

    public Task FlowAsync(uint permits) => _call.RequestStream.WriteAsync(new ConsumeRequest { Flow = new Flow { Permits = permits } });

    /// <summary>The next message, or null when none arrives within <paramref name="wait"/>.</summary>
    public async Task<Received?> ReceiveAsync(TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return await _messages.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public int Queued => _messages.Reader.Count;

    /// <summary>Acknowledges and waits for the receipt; returns its error ("" when stored).</summary>
    public Task<string> AckAsync(IEnumerable<Received> messages, bool cumulative = false)
    {
        var request = new Ack { RequestId = _nextAck++, Cumulative = cumulative };
        foreach (var m in messages)
            request.MessageIds.Add(new MessageId { LedgerId = m.LedgerId, EntryId = m.EntryId, BatchIndex = m.BatchIndex, BatchSize = m.BatchSize, Partition = -1 });
        var receipt = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_acks)
            _acks[request.RequestId] = receipt;
        return SendAndWait();

        async Task<string> SendAndWait()
        {
            await _call.RequestStream.WriteAsync(new ConsumeRequest { Ack = request });
            return await receipt.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var response = _call.ResponseStream.Current;
                switch (response.ResponseCase)
                {
                    case ConsumeResponse.ResponseOneofCase.Delivery:
                        var d = response.Delivery;
                        for (var i = 0; i < d.Batch.Messages.Count; i++)
                        {
                            if (!d.AckedBatchIndexes.Contains(i))
                                _messages.Writer.TryWrite(new Received(d.MessageId.LedgerId, d.MessageId.EntryId, i, d.Batch.Messages.Count, d.Batch.Messages[i].Payload.ToStringUtf8(), d.RedeliveryCount));
                        }
                        break;
                    case ConsumeResponse.ResponseOneofCase.AckReceipt:
                        TaskCompletionSource<string>? waiting;
                        lock (_acks)
                            _acks.Remove(response.AckReceipt.RequestId, out waiting);
                        waiting?.TrySetResult(response.AckReceipt.Error);
                        break;
                    case ConsumeResponse.ResponseOneofCase.ActiveConsumerChanged:
                        IsActive = response.ActiveConsumerChanged.IsActive;
                        break;
                }
            }
            EndedWith = Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            EndedWith = e.Status;
        }
        finally
        {
            _messages.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
        }
        await _reading;
        _call.Dispose();
    }
}
