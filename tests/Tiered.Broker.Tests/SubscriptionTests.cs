using Tiered.V1;

using Tiered.Testing;

namespace Tiered.Broker.Tests;

/// <summary>Producing and consuming through a real broker over gRPC, with each subscription type.</summary>
public class SubscriptionTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private Messaging.MessagingClient Client => fixture.Broker.Client();

    private static IEnumerable<MessageBatch> Batches(int batches, int perBatch, int start = 0)
        => Enumerable.Range(0, batches).Select(b => RawProducer.Batch(Enumerable.Range(0, perBatch).Select(i => $"m{start + b * perBatch + i}")));

    private async Task<List<ProduceResponse>> ProduceAsync(string topic, int batches, int perBatch, int start = 0)
    {
        await using var producer = await RawProducer.OpenAsync(Client, topic);
        var answers = await producer.SendAllAsync(Batches(batches, perBatch, start));
        Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        return answers;
    }

    private static Subscribe Subscription(string topic, string name, SubscriptionType type, string? consumer = null)
        => new() { Topic = topic, Subscription = name, Type = type, InitialPosition = InitialPosition.Earliest, ConsumerName = consumer ?? "" };

    private static async Task<List<Received>> ReceiveAsync(RawConsumer consumer, int count)
    {
        var received = new List<Received>(count);
        while (received.Count < count)
        {
            var next = await consumer.ReceiveAsync(Wait) ?? throw new Xunit.Sdk.XunitException($"Only {received.Count} of {count} messages arrived; the stream ended with {consumer.EndedWith}.");
            received.Add(next);
            if (received.Count % 500 == 0)
                await consumer.FlowAsync(500);
        }
        return received;
    }

    [Fact]
    public async Task Exclusive_subscription_gets_100000_batched_messages_in_order_exactly_once()
    {
        var topic = BrokerFixture.NewTopic();
        await using var consumer = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Exclusive));
        var receipts = await ProduceAsync(topic, batches: 1000, perBatch: 100);
        Assert.Equal(1000, receipts.Select(r => (r.Receipt.MessageId.LedgerId, r.Receipt.MessageId.EntryId)).Distinct().Count());

        var received = await ReceiveAsync(consumer, 100_000);
        Assert.Equal(Enumerable.Range(0, 100_000).Select(i => $"m{i}"), received.Select(r => r.Payload));
        Assert.Equal("", await consumer.AckAsync([received[^1]], cumulative: true));
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Failover_standby_takes_over_from_the_first_unacknowledged_message()
    {
        var topic = BrokerFixture.NewTopic();
        var first = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Failover, "a"));
        await using var standby = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Failover, "b"));
        await ProduceAsync(topic, batches: 100, perBatch: 10);

        var before = await ReceiveAsync(first, 400);
        Assert.Equal("", await first.AckAsync([before[299]], cumulative: true));
        Assert.Null(await standby.ReceiveAsync(TimeSpan.FromMilliseconds(200)));
        await first.DisposeAsync();

        await WaitUntil(() => standby.IsActive);
        var after = await ReceiveAsync(standby, 700);
        Assert.Equal(Enumerable.Range(300, 700).Select(i => $"m{i}"), after.Select(r => r.Payload));
    }

    [Fact]
    public async Task Shared_subscription_gives_each_message_to_exactly_one_consumer_and_redelivers_what_a_leaving_consumer_did_not_ack()
    {
        var topic = BrokerFixture.NewTopic();
        var consumers = new List<RawConsumer>();
        for (var i = 0; i < 3; i++)
            consumers.Add(await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Shared, $"c{i}"), permits: 200));
        await ProduceAsync(topic, batches: 300, perBatch: 10);

        // Each consumer takes what it was given; the last leaves without acknowledging.
        var seen = new List<Received>();
        var leaving = consumers[2];
        var unacked = new List<Received>();
        while (await leaving.ReceiveAsync(TimeSpan.FromMilliseconds(500)) is { } m)
            unacked.Add(m);
        Assert.NotEmpty(unacked);
        await leaving.DisposeAsync();

        var stayers = consumers.Take(2).ToList();
        var deadline = DateTime.UtcNow + Wait;
        while (seen.Count < 3000 && DateTime.UtcNow < deadline)
        {
            foreach (var consumer in stayers)
            {
                var batch = new List<Received>();
                while (batch.Count < 200 && await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(50)) is { } m)
                    batch.Add(m);
                if (batch.Count == 0)
                    continue;
                Assert.Equal("", await consumer.AckAsync(batch));
                seen.AddRange(batch);
                await consumer.FlowAsync((uint)batch.Count);
            }
        }
        Assert.Equal(3000, seen.Count);
        Assert.Equal(3000, seen.Select(m => m.Payload).Distinct().Count());
        Assert.Superset(unacked.Select(m => m.Payload).ToHashSet(), seen.Select(m => m.Payload).ToHashSet());
        Assert.All(seen.Where(m => unacked.Any(u => u.Payload == m.Payload)), m => Assert.True(m.RedeliveryCount > 0));
        foreach (var consumer in stayers)
            await consumer.DisposeAsync();
    }

    [Fact]
    public async Task Cumulative_ack_is_refused_on_a_shared_subscription()
    {
        var topic = BrokerFixture.NewTopic();
        await using var consumer = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Shared));
        await ProduceAsync(topic, 1, 1);
        var message = await consumer.ReceiveAsync(Wait);
        Assert.NotNull(message);
        Assert.Contains("not allowed on a Shared subscription", await consumer.AckAsync([message.Value], cumulative: true));
    }

    [Fact]
    public async Task A_second_exclusive_consumer_is_refused_with_a_reason()
    {
        var topic = BrokerFixture.NewTopic();
        await using var first = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Exclusive));
        var e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Exclusive)));
        Assert.Equal(Grpc.Core.StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("already has a consumer", e.Status.Detail);
    }

    [Fact]
    public async Task Batch_messages_acknowledged_one_by_one_are_not_redelivered()
    {
        var topic = BrokerFixture.NewTopic();
        var consumer = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Shared));
        await ProduceAsync(topic, batches: 1, perBatch: 10);
        var all = await ReceiveAsync(consumer, 10);
        Assert.Equal("", await consumer.AckAsync(all.Where(m => m.BatchIndex % 2 == 0)));
        await consumer.DisposeAsync();

        await using var again = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Shared));
        var redelivered = await ReceiveAsync(again, 5);
        Assert.Equal(["m1", "m3", "m5", "m7", "m9"], redelivered.Select(m => m.Payload));
        Assert.Null(await again.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Reader_reads_from_the_earliest_message_and_last_message_id_names_the_last()
    {
        var topic = BrokerFixture.NewTopic();
        await ProduceAsync(topic, batches: 5, perBatch: 3);
        await using var reader = await RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = topic, Reader = true, InitialPosition = InitialPosition.Earliest });
        var read = await ReceiveAsync(reader, 15);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => $"m{i}"), read.Select(r => r.Payload));
        var last = (await Client.GetLastMessageIdAsync(new GetLastMessageIdRequest { Topic = topic })).MessageId;
        Assert.Equal((read[^1].LedgerId, read[^1].EntryId, 2), (last.LedgerId, last.EntryId, last.BatchIndex));
    }

    [Fact]
    public async Task Markers_reach_no_consumer_count_as_no_message_and_are_not_the_last_message()
    {
        var topic = BrokerFixture.NewTopic();
        var consumer = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Exclusive));
        await ProduceAsync(topic, batches: 2, perBatch: 3);
        var loaded = await fixture.Broker.Server.Topics.GetTopicAsync(Naming.TopicName.Parse(topic), create: false, CancellationToken.None);
        var marker = new Wire.ReplicationMarker { SnapshotRequest = new Wire.SnapshotRequest { SnapshotId = "x", SourceCluster = "elsewhere" } };
        await loaded.PublishMarkerAsync(marker, CancellationToken.None);
        await ProduceAsync(topic, batches: 1, perBatch: 3);
        await loaded.PublishMarkerAsync(marker, CancellationToken.None);
        await loaded.PublishMarkerAsync(marker, CancellationToken.None);

        var read = await ReceiveAsync(consumer, 9);
        Assert.Equal(9, read.Count);
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
        var last = (await Client.GetLastMessageIdAsync(new GetLastMessageIdRequest { Topic = topic })).MessageId;
        Assert.Equal((read[^1].LedgerId, read[^1].EntryId, 2), (last.LedgerId, last.EntryId, last.BatchIndex));
        // The consumer acknowledged nothing: its backlog is the 9 messages, the markers (passed and acknowledged) none.
        var subscription = loaded.FindSubscription("s")!;
        Assert.Equal(9, loaded.BacklogOf(subscription).Messages);
        await consumer.DisposeAsync();
    }

    [Fact]
    public async Task Seek_moves_a_subscription_back_to_a_message()
    {
        var topic = BrokerFixture.NewTopic();
        var consumer = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Exclusive));
        await ProduceAsync(topic, batches: 10, perBatch: 1);
        var first = await ReceiveAsync(consumer, 10);
        Assert.Equal("", await consumer.AckAsync([first[^1]], cumulative: true));

        await Client.SeekAsync(new SeekRequest { Topic = topic, Subscription = "s", MessageId = new MessageId { LedgerId = first[4].LedgerId, EntryId = first[4].EntryId } });
        await WaitUntil(() => consumer.EndedWith is not null);
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, consumer.EndedWith!.Value.StatusCode);
        await consumer.DisposeAsync();

        await using var again = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Exclusive));
        var replayed = await ReceiveAsync(again, 6);
        Assert.Equal(Enumerable.Range(4, 6).Select(i => $"m{i}"), replayed.Select(r => r.Payload));
    }

    [Fact]
    public async Task A_subscription_marks_its_cursor_active_while_a_consumer_is_connected_so_that_only_then_adds_are_cached()
    {
        var topic = BrokerFixture.NewTopic();
        var first = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Shared, "a"));
        var second = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Shared, "b"));
        var loaded = await fixture.Broker.Server.Topics.GetTopicAsync(Naming.TopicName.Parse(topic), create: false, CancellationToken.None);
        var cursor = loaded.FindSubscription("s")!.Cursor;
        Assert.True(cursor.IsActive);

        await first.DisposeAsync();
        await ProduceAsync(topic, batches: 3, perBatch: 1);
        Assert.Equal(3, (await ReceiveAsync(second, 3)).Count);
        Assert.True(cursor.IsActive);
        // The last consumer gone: a subscription nobody reads, whose adds the managed ledger does not copy.
        await second.DisposeAsync();
        await WaitUntil(() => !cursor.IsActive);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The condition did not become true in time.");
            await Task.Delay(20);
        }
    }
}
