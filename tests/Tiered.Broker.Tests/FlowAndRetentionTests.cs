using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

public class FlowAndRetentionTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_consumer_gets_no_more_messages_than_its_permits()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        await using var consumer = await RawConsumer.SubscribeAsync(broker.Client(), new Subscribe { Topic = topic, Subscription = "s", InitialPosition = V1.InitialPosition.Earliest }, permits: 5);
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            await producer.SendAllAsync(Enumerable.Range(0, 100).Select(i => RawProducer.Batch([$"m{i}"])));

        for (var i = 0; i < 5; i++)
            Assert.Equal($"m{i}", (await consumer.ReceiveAsync(Wait))?.Payload);
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
        var stats = await broker.Server.Admin.GetStatsAsync(Naming.TopicName.Parse(topic), CancellationToken.None);
        Assert.Equal(0, stats.Subscriptions["s"].Consumers[0].AvailablePermits);
        Assert.Equal(5, stats.Subscriptions["s"].UnackedMessages);

        await consumer.FlowAsync(3);
        for (var i = 5; i < 8; i++)
            Assert.Equal($"m{i}", (await consumer.ReceiveAsync(Wait))?.Payload);
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task A_consumer_catching_up_has_its_next_entries_read_ahead_while_it_holds_no_permits()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        // Stored before anyone reads: nothing is cached on add, the consumer catches up from storage.
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            await producer.SendAllAsync(Enumerable.Range(0, 40).Select(i => RawProducer.Batch([$"m{i}"])));
        await using var consumer = await RawConsumer.SubscribeAsync(broker.Client(), new Subscribe { Topic = topic, Subscription = "s", InitialPosition = V1.InitialPosition.Earliest }, permits: 10);
        for (var i = 0; i < 10; i++)
            Assert.Equal($"m{i}", (await consumer.ReceiveAsync(Wait))?.Payload);
        var ledger = broker.Server.Topics.FindLoaded(Naming.TopicName.Parse(topic))!.Ledger;

        // Out of permits after a read that found a backlog: the next ten entries are read into the cache meanwhile.
        var deadline = DateTime.UtcNow + Wait;
        while (ledger.EntriesReadAhead < 10 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(10, ledger.EntriesReadAhead);
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));

        // Reading ahead changes nothing the consumer sees: every message once, in order.
        await consumer.FlowAsync(30);
        for (var i = 10; i < 40; i++)
            Assert.Equal($"m{i}", (await consumer.ReceiveAsync(Wait))?.Payload);
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_reader_starts_at_a_message_id_inclusive_or_after_it()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        List<ProduceResponse> receipts;
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            receipts = await producer.SendAllAsync(Enumerable.Range(0, 10).Select(i => RawProducer.Batch([$"m{i}"])));
        var fourth = receipts[3].Receipt.MessageId;
        foreach (var (inclusive, first) in new[] { (true, "m3"), (false, "m4") })
        {
            await using var reader = await RawConsumer.SubscribeAsync(broker.Client(), new Subscribe { Topic = topic, Reader = true, StartMessageId = fourth, StartInclusive = inclusive });
            Assert.Equal(first, (await reader.ReceiveAsync(Wait))?.Payload);
        }
        await using var latest = await RawConsumer.SubscribeAsync(broker.Client(), new Subscribe { Topic = topic, Reader = true, InitialPosition = V1.InitialPosition.Latest });
        Assert.Null(await latest.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Ledgers_every_subscription_consumed_are_trimmed_and_unconsumed_ones_kept()
    {
        await using var broker = await LocalBroker.StartAsync(options => options with
        {
            ManagedLedger = options.ManagedLedger with { MaxEntriesPerLedger = 10 },
        });
        var topic = BrokerFixture.NewTopic();
        var name = Naming.TopicName.Parse(topic);
        var subscribe = new Subscribe { Topic = topic, Subscription = "s", InitialPosition = V1.InitialPosition.Earliest };
        var consumer = await RawConsumer.SubscribeAsync(broker.Client(), subscribe);
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            await producer.SendAllAsync(Enumerable.Range(0, 45).Select(i => RawProducer.Batch([$"m{i}"])));
        var received = new List<Received>();
        while (received.Count < 25 && await consumer.ReceiveAsync(Wait) is { } m)
            received.Add(m);
        Assert.Equal("", await consumer.AckAsync([received[^1]], cumulative: true));
        var before = (await broker.Server.Admin.GetInternalStatsAsync(name, CancellationToken.None)).Ledgers.Count;

        await broker.Server.Topics.RunMaintenanceAsync(CancellationToken.None);

        var after = await broker.Server.Admin.GetInternalStatsAsync(name, CancellationToken.None);
        Assert.True(after.Ledgers.Count <= before - 2, $"{before} ledgers before trimming, {after.Ledgers.Count} after");
        // Whole ledgers go: the 20 unconsumed entries stay, with at most the rest of a partly consumed ledger.
        Assert.InRange(after.Ledgers.Sum(l => l.Entries), 20, 29);
        await consumer.DisposeAsync();

        // What was not consumed is still there.
        await using var again = await RawConsumer.SubscribeAsync(broker.Client(), subscribe);
        var rest = new List<string>();
        while (rest.Count < 20 && await again.ReceiveAsync(Wait) is { } m)
            rest.Add(m.Payload);
        Assert.Equal(Enumerable.Range(25, 20).Select(i => $"m{i}"), rest);
    }
}
