using Grpc.Core;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

public class ProducerTests
{
    [Fact]
    public async Task Messages_sent_while_a_batch_is_in_flight_go_out_together_and_their_ids_carry_batch_indexes()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.HoldReceipts = true;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("batched") { ProducerName = "p1" });

        var first = producer.SendAsync(Text("m0")).AsTask();
        await Eventually.WaitUntilAsync(() => broker.SendsSnapshot().Count == 1, "the first message is sent alone");
        var rest = new Task<MessageId>[9];
        for (var i = 0; i < rest.Length; i++)
            rest[i] = producer.SendAsync(Text($"m{i + 1}")).AsTask();
        broker.ReleaseReceipts(1);
        Assert.Equal(new MessageId(FakeBroker.LedgerId, 0, -1, 0), await first.Within("the first receipt"));
        await Eventually.WaitUntilAsync(() => broker.SendsSnapshot().Count == 2, "the gathered messages are sent as one batch");
        broker.ReleaseReceipts(1);
        var ids = await Task.WhenAll(rest).Within("the second receipt");

        var sends = broker.SendsSnapshot();
        Assert.Equal([1, 9], sends.Select(s => s.Send.Batch.Messages.Count));
        Assert.Equal([0UL, 1UL], sends.Select(s => s.Send.SequenceId));
        Assert.All(sends, s => Assert.Equal("p1", s.Send.Batch.ProducerName));
        Assert.All(sends, s => Assert.Equal(1u, s.Send.Batch.FormatVersion));
        Assert.Equal(1UL, sends[1].Send.Batch.SequenceId);
        Assert.Equal(Enumerable.Range(0, 9).Select(i => new MessageId(FakeBroker.LedgerId, 1, -1, i)), ids);
    }

    [Fact]
    public async Task Each_receipt_resolves_the_sends_of_its_own_batch()
    {
        await using var broker = await FakeBroker.StartAsync();
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("unbatched") { BatchingEnabled = false });

        var sends = new Task<MessageId>[50];
        for (var i = 0; i < sends.Length; i++)
            sends[i] = producer.SendAsync(Text($"m{i}"), key: $"k{i}").AsTask();
        var ids = await Task.WhenAll(sends).Within("50 receipts");

        var stored = broker.Topic("unbatched").Snapshot();
        Assert.Equal(50, stored.Count);
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(new MessageId(FakeBroker.LedgerId, i, -1, 0), ids[i]);
            var message = Assert.Single(stored[(int)ids[i].EntryId].Batch.Messages);
            Assert.Equal($"m{i}", message.Payload.ToStringUtf8());
            Assert.Equal($"k{i}", message.Key);
        }
    }

    [Fact]
    public async Task Sends_wait_for_room_once_max_pending_messages_are_unacknowledged()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.HoldReceipts = true;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("bounded") { BatchingEnabled = false, MaxPendingMessages = 10 });

        var sends = new Task<MessageId>[15];
        for (var i = 0; i < sends.Length; i++)
            sends[i] = producer.SendAsync(Text($"m{i}")).AsTask();
        await Eventually.WaitUntilAsync(() => broker.SendsSnapshot().Count == 10, "10 messages are in flight");
        // A negative check needs a window: the 11th must not reach the broker while 10 are unacknowledged.
        await Task.Delay(200);
        Assert.Equal(10, broker.SendsSnapshot().Count);
        Assert.All(sends, s => Assert.False(s.IsCompleted));
        using (var cancelled = new CancellationTokenSource())
        {
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => producer.SendAsync(Text("never"), cancellationToken: cancelled.Token).AsTask());
        }

        broker.ReleaseReceipts(5);
        await Eventually.WaitUntilAsync(() => broker.SendsSnapshot().Count == 15, "the waiting sends go out as room frees");
        broker.ReleaseReceipts(10);
        var ids = await Task.WhenAll(sends).Within("every receipt");
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)i), ids.Select(id => id.EntryId));
    }

    [Fact]
    public async Task After_the_broker_drops_the_stream_the_producer_resends_exactly_the_unreceipted_batches_in_order()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.FailProduceStreamAtBatch = 5;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("restart") { BatchingEnabled = false, ProducerName = "p" });

        var sends = new Task<MessageId>[20];
        for (var i = 0; i < sends.Length; i++)
            sends[i] = producer.SendAsync(Text($"m{i}")).AsTask();
        var ids = await Task.WhenAll(sends).Within("every receipt, across the reconnection");

        Assert.Equal(2, broker.ProduceStreams);
        Assert.Equal([0UL, 1UL, 2UL, 3UL], broker.ReceiptsWritten.Where(r => r.Stream == 1).Select(r => r.SequenceId));
        var resent = broker.SendsSnapshot().Where(s => s.Stream == 2).Select(s => s.Send.SequenceId).ToList();
        Assert.Equal(Enumerable.Range(4, 16).Select(i => (ulong)i), resent);
        Assert.All(broker.Opens, o => Assert.Equal("p", o.ProducerName));
        // Nothing acknowledged is lost, nothing is stored twice, the order holds.
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), broker.Topic("restart").Snapshot().Select(e => e.Batch.Messages[0].Payload.ToStringUtf8()));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), ids.Select(id => id.EntryId));
    }

    [Fact]
    public async Task After_a_reconnection_a_batching_producer_resends_its_unreceipted_batches_unchanged()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.FailProduceStreamAtBatch = 3;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("restart-batched") { ProducerName = "p", BatchingMaxMessages = 50 });

        var sends = new Task<MessageId>[500];
        for (var i = 0; i < sends.Length; i++)
            sends[i] = producer.SendAsync(Text($"m{i}")).AsTask();
        await Task.WhenAll(sends).Within("every receipt, across the reconnection");

        var all = broker.SendsSnapshot();
        var first = all.Where(s => s.Stream == 1).ToList();
        var second = all.Where(s => s.Stream == 2).ToList();
        var receipted = broker.ReceiptsWritten.Count(r => r.Stream == 1);
        Assert.Equal(2, receipted);
        var unreceipted = first.Skip(receipted).ToList();
        Assert.True(second.Count >= unreceipted.Count);
        for (var i = 0; i < unreceipted.Count; i++)
            Assert.Equal(unreceipted[i].Send, second[i].Send);
        var stored = broker.Topic("restart-batched").Snapshot().SelectMany(e => e.Batch.Messages).Select(m => m.Payload.ToStringUtf8());
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"m{i}"), stored);
    }

    [Fact]
    public async Task A_stream_the_broker_ends_without_an_error_is_reopened_and_nothing_is_lost()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.FailProduceStreamAtBatch = 3;
        broker.FailProduceStreamWith = null;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("ended") { BatchingEnabled = false });

        var sends = new Task<MessageId>[10];
        for (var i = 0; i < sends.Length; i++)
            sends[i] = producer.SendAsync(Text($"m{i}")).AsTask();
        await Task.WhenAll(sends).Within("every receipt");

        Assert.Equal(2, broker.ProduceStreams);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), broker.Topic("ended").Snapshot().Select(e => e.Batch.Messages[0].Payload.ToStringUtf8()));
    }

    [Fact]
    public async Task A_batch_the_broker_calls_invalid_fails_only_its_own_messages()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Invalid = batch => batch.Messages.Any(m => m.Payload.ToStringUtf8() == "bad");
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("invalid") { BatchingEnabled = false });

        var good1 = producer.SendAsync(Text("good")).AsTask();
        var bad = producer.SendAsync(Text("bad")).AsTask();
        var good2 = producer.SendAsync(Text("good")).AsTask();

        await good1.Within("the first good message");
        var error = await Assert.ThrowsAsync<TieredClientException>(() => bad.Within("the refusal"));
        Assert.Contains("batch too large", error.Message, StringComparison.Ordinal);
        await good2.Within("the second good message");
        Assert.Equal(2, broker.Topic("invalid").Count);
    }

    [Fact]
    public async Task Sends_still_pending_when_the_client_is_disposed_fail_instead_of_hanging()
    {
        var broker = await FakeBroker.StartAsync();
        var client = new TieredClient(new TieredClientOptions { ServiceUrl = broker.Url, OperationTimeout = TimeSpan.FromMilliseconds(500), ReconnectInitialBackoff = TimeSpan.FromMilliseconds(20) });
        var producer = await client.CreateProducerAsync(new ProducerOptions("gone"));
        await broker.DisposeAsync();

        var send = producer.SendAsync(Text("lost")).AsTask();
        await client.DisposeAsync();

        var error = await Assert.ThrowsAsync<TieredClientException>(() => send.Within("the send to fail"));
        Assert.Contains("closed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Producers_and_consumers_of_one_broker_share_one_channel()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Partitions["shared-channel"] = 3;
        await using var client = For(broker);
        await using var first = await client.CreateProducerAsync(new ProducerOptions("shared-channel"));
        await using var second = await client.CreateProducerAsync(new ProducerOptions("other"));
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("shared-channel", "s"));

        Assert.Equal(1, client.ChannelCount);
    }

    [Fact]
    public async Task A_message_larger_than_the_broker_accepts_fails_at_once_with_a_clear_error()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.MaxMessageBytes = 64 * 1024;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("small"));

        var error = await Assert.ThrowsAsync<TieredClientException>(() => producer.SendAsync(new byte[100_000]).AsTask());
        Assert.Contains("larger than", error.Message, StringComparison.Ordinal);
        Assert.Empty(broker.SendsSnapshot());
        Assert.Equal(0, (await producer.SendAsync(Text("fits")).Within("a small message")).EntryId);
    }

    [Fact]
    public async Task A_producer_the_broker_refuses_fails_to_open_with_the_broker_message()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.RefuseProducer = _ => new RpcException(new Status(StatusCode.NotFound, "namespace public/nope does not exist"));
        await using var client = For(broker);

        var error = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("public/nope/t")));
        Assert.Contains("namespace public/nope does not exist", error.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Disposing_a_producer_flushes_what_it_batched_and_what_waited_for_room()
    {
        await using var broker = await FakeBroker.StartAsync();
        await using var client = For(broker);
        var producer = await client.CreateProducerAsync(new ProducerOptions("flushed") { MaxPendingMessages = 50, BatchingMaxMessages = 20 });
        var sends = new Task<MessageId>[300];
        for (var i = 0; i < sends.Length; i++)
            sends[i] = producer.SendAsync(Text($"m{i}")).AsTask();
        await producer.DisposeAsync();

        // Completed by the flush, not failed by the close (continuations run asynchronously, hence the wait).
        await Task.WhenAll(sends).Within("every send");
        Assert.Equal(300, broker.Topic("flushed").Snapshot().Sum(e => e.Batch.Messages.Count));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => producer.SendAsync(Text("late")).AsTask());
    }
}
