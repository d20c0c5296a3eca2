using Google.Protobuf;
using Grpc.Core;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>
/// Grouped sends (ProduceRequest.sends) and grouped receipts (ProduceResponse.receipts) against a real broker, written
/// on the generated gRPC client of client.proto as any other language's stack would.
/// </summary>
public sealed class GroupedProduceTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>A raw producer stream: opened with or without accepts_grouped_receipts.</summary>
    private sealed class Stream(AsyncDuplexStreamingCall<ProduceRequest, ProduceResponse> call, ProducerOpened opened) : IAsyncDisposable
    {
        public ProducerOpened Opened { get; } = opened;

        /// <summary>Every response after ProducerOpened, as it came.</summary>
        public List<ProduceResponse> Responses { get; } = [];

        public static async Task<Stream> OpenAsync(Messaging.MessagingClient client, string topic, string name, bool groupedReceipts)
        {
            var call = client.Produce();
            await call.RequestStream.WriteAsync(new ProduceRequest { Open = new OpenProducer { Topic = topic, ProducerName = name, AcceptsGroupedReceipts = groupedReceipts } });
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            return new Stream(call, call.ResponseStream.Current.Opened);
        }

        public Task SendAsync(ProduceRequest request) => call.RequestStream.WriteAsync(request);

        /// <summary>Reads responses until <paramref name="answers"/> sends were answered (a group counts each receipt); answers them flat, in order.</summary>
        public async Task<List<(ulong SequenceId, MessageId? Id, SendError? Error)>> AnswersAsync(int answers)
        {
            var flat = new List<(ulong, MessageId?, SendError?)>();
            using var timeout = new CancellationTokenSource(Wait);
            while (flat.Count < answers)
            {
                Assert.True(await call.ResponseStream.MoveNext(timeout.Token), "the broker ended the stream");
                var response = call.ResponseStream.Current;
                Responses.Add(response);
                switch (response.ResponseCase)
                {
                    case ProduceResponse.ResponseOneofCase.Receipt:
                        flat.Add((response.Receipt.SequenceId, response.Receipt.MessageId, null));
                        break;
                    case ProduceResponse.ResponseOneofCase.Receipts:
                        Assert.True(response.Receipts.Receipts.Count > 1, "a group of receipts holds several");
                        flat.AddRange(response.Receipts.Receipts.Select(r => (r.SequenceId, (MessageId?)r.MessageId, (SendError?)null)));
                        break;
                    case ProduceResponse.ResponseOneofCase.Error:
                        flat.Add((response.Error.SequenceId, null, response.Error));
                        break;
                    default:
                        Assert.Fail($"Unexpected {response.ResponseCase}.");
                        break;
                }
            }
            return flat;
        }

        /// <summary>Ends the stream and answers the status it ended with.</summary>
        public async Task<RpcException?> EndAsync()
        {
            try
            {
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    Responses.Add(call.ResponseStream.Current);
                return null;
            }
            catch (RpcException e)
            {
                return e;
            }
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await call.RequestStream.CompleteAsync();
                await EndAsync();
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
            }
            call.Dispose();
        }
    }

    /// <summary>Sends first … first+count-1 (one message each, numbered as their sequence ids) in one group.</summary>
    private static ProduceRequest Group(ulong first, int count, string producer)
    {
        var group = new SendBatches();
        for (var i = 0; i < count; i++)
            group.Sends.Add(new SendBatch { SequenceId = first + (ulong)i, Batch = Numbered(first + (ulong)i, producer) });
        return new ProduceRequest { Sends = group };
    }

    private static MessageBatch Numbered(ulong sequenceId, string producer)
    {
        var batch = RawProducer.Batch([$"m{sequenceId}"]);
        (batch.SequenceId, batch.ProducerName) = (sequenceId, producer);
        return batch;
    }

    [Fact]
    public async Task Grouped_sends_are_stored_in_order_with_distinct_ids_and_their_receipts_come_grouped()
    {
        var topic = BrokerFixture.NewTopic();
        await using var stream = await Stream.OpenAsync(fixture.Broker.Client(), topic, "p", groupedReceipts: true);
        Assert.True(stream.Opened.AcceptsGroupedSends);
        const int groups = 20, perGroup = 50;
        for (var g = 0; g < groups; g++)
            await stream.SendAsync(Group((ulong)(g * perGroup), perGroup, "p"));
        var answers = await stream.AnswersAsync(groups * perGroup);

        Assert.Equal(Enumerable.Range(0, groups * perGroup).Select(i => (ulong)i), answers.Select(a => a.SequenceId));
        Assert.All(answers, a => Assert.Null(a.Error));
        var ids = answers.Select(a => (a.Id!.LedgerId, a.Id.EntryId)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids.OrderBy(id => id.LedgerId).ThenBy(id => id.EntryId), ids);
        // Receipts of sends stored together share a response: far fewer responses than sends.
        Assert.Contains(stream.Responses, r => r.ResponseCase == ProduceResponse.ResponseOneofCase.Receipts);
        Assert.True(stream.Responses.Count < groups * perGroup, $"{stream.Responses.Count} responses for {groups * perGroup} sends");
        Assert.Equal(Enumerable.Range(0, groups * perGroup).Select(i => $"m{i}"), await RawConsumer.ReadAllAsync(fixture.Broker.Client(), topic, groups * perGroup, Wait));
    }

    [Fact]
    public async Task A_client_that_did_not_announce_grouped_receipts_gets_one_receipt_per_send_even_for_a_group()
    {
        var topic = BrokerFixture.NewTopic();
        await using var stream = await Stream.OpenAsync(fixture.Broker.Client(), topic, "p", groupedReceipts: false);
        await stream.SendAsync(Group(0, 100, "p"));
        for (ulong i = 100; i < 200; i++)
            await stream.SendAsync(new ProduceRequest { Send = new SendBatch { SequenceId = i, Batch = Numbered(i, "p") } });
        var answers = await stream.AnswersAsync(200);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => (ulong)i), answers.Select(a => a.SequenceId));
        Assert.Equal(200, stream.Responses.Count);
        Assert.All(stream.Responses, r => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, r.ResponseCase));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}"), await RawConsumer.ReadAllAsync(fixture.Broker.Client(), topic, 200, Wait));
    }

    [Fact]
    public async Task A_resent_group_is_stored_once_and_answered_with_the_original_ids()
    {
        var topic = BrokerFixture.NewTopic();
        List<(ulong SequenceId, MessageId? Id, SendError? Error)> first;
        await using (var stream = await Stream.OpenAsync(fixture.Broker.Client(), topic, "p", groupedReceipts: true))
        {
            await stream.SendAsync(Group(0, 30, "p"));
            first = await stream.AnswersAsync(30);
        }
        Assert.All(first, a => Assert.Null(a.Error));

        // The producer reconnects and resends the group unchanged, then goes on with new sends in the same request.
        await using var again = await Stream.OpenAsync(fixture.Broker.Client(), topic, "p", groupedReceipts: true);
        Assert.Equal(29, again.Opened.LastSequenceId);
        var resend = Group(0, 40, "p");
        await again.SendAsync(resend);
        var answers = await again.AnswersAsync(40);

        Assert.Equal(Enumerable.Range(0, 40).Select(i => (ulong)i), answers.Select(a => a.SequenceId));
        Assert.All(answers, a => Assert.Null(a.Error));
        Assert.Equal(first.Select(a => a.Id), answers.Take(30).Select(a => a.Id));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"m{i}"), await RawConsumer.ReadAllAsync(fixture.Broker.Client(), topic, 40, Wait));
    }

    [Fact]
    public async Task Each_send_of_a_group_is_checked_alone_and_a_refusal_carries_its_own_sequence_id()
    {
        var topic = BrokerFixture.NewTopic();
        await using var stream = await Stream.OpenAsync(fixture.Broker.Client(), topic, "p", groupedReceipts: true);
        var group = Group(0, 6, "p");
        // Send 2 has no format version, send 4 overlaps ids stored already (3 and 4): each is refused, the others stored.
        group.Sends.Sends[2].Batch.FormatVersion = 0;
        group.Sends.Sends[4].Batch.SequenceId = 3;
        group.Sends.Sends[4].Batch.Messages.Add(new Message { Payload = ByteString.CopyFromUtf8("m4b") });
        await stream.SendAsync(group);
        var answers = await stream.AnswersAsync(6);

        Assert.Equal([0UL, 1UL, 2UL, 3UL, 4UL, 5UL], answers.Select(a => a.SequenceId));
        Assert.Equal([false, false, true, false, true, false], answers.Select(a => a.Error is not null));
        Assert.Equal(ErrorCode.InvalidMessage, answers[2].Error!.Code);
        Assert.Contains("format", answers[2].Error!.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("overlap", answers[4].Error!.Message);
        Assert.Equal(["m0", "m1", "m3", "m5"], await RawConsumer.ReadAllAsync(fixture.Broker.Client(), topic, 4, Wait));
    }

    [Fact]
    public async Task An_empty_group_ends_the_stream_with_a_clear_invalid_argument()
    {
        var topic = BrokerFixture.NewTopic();
        await using var stream = await Stream.OpenAsync(fixture.Broker.Client(), topic, "p", groupedReceipts: true);
        await stream.SendAsync(new ProduceRequest { Sends = new SendBatches() });
        var ended = await stream.EndAsync();

        Assert.NotNull(ended);
        Assert.Equal(StatusCode.InvalidArgument, ended.StatusCode);
        Assert.Contains("holds no SendBatch", ended.Status.Detail);
    }
}
