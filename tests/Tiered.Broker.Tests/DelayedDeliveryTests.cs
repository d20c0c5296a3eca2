using System.Globalization;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;
using Tiered.Broker.Subscriptions.Delayed;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>deliver_at_ms through real gRPC streams: Shared holds, Exclusive and Failover deliver at once, held messages survive restarts.</summary>
public class DelayedDeliveryTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private Messaging.MessagingClient Client => fixture.Broker.Client();

    private static Subscribe Subscription(string topic, string name, SubscriptionType type)
        => new() { Topic = topic, Subscription = name, Type = type, InitialPosition = InitialPosition.Earliest };

    /// <summary>A batch of one message due at <paramref name="deliverAtMs"/>; the payload carries the time, for the checks.</summary>
    private static MessageBatch Delayed(string name, long deliverAtMs)
    {
        var batch = RawProducer.Batch([$"{name}@{deliverAtMs.ToString(CultureInfo.InvariantCulture)}"]);
        batch.Messages[0].DeliverAtMs = deliverAtMs;
        return batch;
    }

    private static long DueOf(Received message) => long.Parse(message.Payload.AsSpan(message.Payload.IndexOf('@') + 1), CultureInfo.InvariantCulture);

    private static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static Task<TopicStats> StatsAsync(LocalBroker broker, string topic) => broker.Server.Admin.GetStatsAsync(TopicName.Parse(topic), CancellationToken.None);

    [Fact]
    public async Task A_shared_subscription_holds_a_message_until_its_time_while_exclusive_and_failover_get_it_at_once()
    {
        var topic = BrokerFixture.NewTopic();
        await using var shared = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "shared", SubscriptionType.Shared));
        await using var exclusive = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "exclusive", SubscriptionType.Exclusive));
        await using var failover = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "failover", SubscriptionType.Failover));
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
        {
            var answers = await producer.SendAllAsync([Delayed("soon", Now + 1500), Delayed("in-an-hour", Now + 3_600_000), RawProducer.Batch(["now"])]);
            Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        }

        foreach (var atOnce in new[] { exclusive, failover })
        {
            var all = new List<string>();
            while (all.Count < 3 && await atOnce.ReceiveAsync(Wait) is { } m)
                all.Add(m.Payload.Split('@')[0]);
            Assert.Equal(["soon", "in-an-hour", "now"], all);
        }

        var first = await shared.ReceiveAsync(Wait);
        Assert.Equal("now", first?.Payload);
        var soon = await shared.ReceiveAsync(Wait) ?? throw new Xunit.Sdk.XunitException("The delayed message never came.");
        var arrived = Now;
        Assert.StartsWith("soon@", soon.Payload, StringComparison.Ordinal);
        Assert.True(arrived >= DueOf(soon), $"delivered {DueOf(soon) - arrived} ms early");
        Assert.Equal(0, soon.RedeliveryCount);
        Assert.Null(await shared.ReceiveAsync(TimeSpan.FromMilliseconds(300)));

        var stats = (await StatsAsync(fixture.Broker, topic)).Subscriptions;
        Assert.Equal(1, stats["shared"].MsgDelayed);
        Assert.InRange(stats["shared"].DelayedMessageIndexSizeInBytes, 1, 4096);
        Assert.Equal(0, stats["exclusive"].MsgDelayed);
    }

    [Fact]
    public async Task Leaving_shared_for_exclusive_delivers_the_held_messages_at_once_and_only_once()
    {
        var topic = BrokerFixture.NewTopic();
        var shared = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Shared));
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
            await producer.SendAllAsync([Delayed("a", Now + 3_600_000), RawProducer.Batch(["b"]), Delayed("c", Now + 3_600_000)]);
        Assert.Equal("b", (await shared.ReceiveAsync(Wait))?.Payload);
        await Eventually(async () => (await StatsAsync(fixture.Broker, topic)).Subscriptions["s"].MsgDelayed == 2);
        await shared.DisposeAsync();

        await using var exclusive = await RawConsumer.SubscribeAsync(Client, Subscription(topic, "s", SubscriptionType.Exclusive));
        var received = new List<string>();
        while (await exclusive.ReceiveAsync(TimeSpan.FromSeconds(received.Count < 3 ? 20 : 1)) is { } m)
            received.Add(m.Payload.Split('@')[0]);
        // b was delivered to the shared consumer and not acknowledged: it comes again, a and c at once; nothing twice.
        Assert.Equal(["a", "b", "c"], received.Order());
        Assert.Equal(0, (await StatsAsync(fixture.Broker, topic)).Subscriptions["s"].MsgDelayed);
    }

    [Fact]
    public async Task Spilled_delayed_messages_come_back_after_a_restart_none_early_none_lost_none_twice()
    {
        await using var broker = await LocalBroker.StartAsync(o => o with
        {
            DelayedDelivery = new DelayedDeliveryOptions { Tick = TimeSpan.FromMilliseconds(20), MaxIndexBytes = 1024 },
        });
        var topic = BrokerFixture.NewTopic();
        var subscribe = Subscription(topic, "s", SubscriptionType.Shared);
        var consumer = await RawConsumer.SubscribeAsync(broker.Client(), subscribe);
        var random = new Random(3);
        var start = Now;
        var batches = Enumerable.Range(0, 400).Select(i => Delayed($"m{i}", start + 1500 + random.Next(0, 2500))).ToList();
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            await producer.SendAllAsync(batches);
        await Eventually(async () => (await StatsAsync(broker, topic)).Subscriptions["s"].MsgDelayed == 400);
        // 400 entries over about 125 slots of 20 ms cannot all be in 1 KiB: most are spilled, found again by re-reading the log.
        Assert.InRange((await StatsAsync(broker, topic)).Subscriptions["s"].DelayedMessageIndexSizeInBytes, 1, 1024);
        var index = (await broker.Server.Admin.GetInternalStatsAsync(TopicName.Parse(topic), CancellationToken.None)).Cursors["s"].DelayedIndex;
        Assert.NotNull(index);
        Assert.Equal(400, index.Entries);
        Assert.True(index.SpilledEntries > 200, $"only {index.SpilledEntries} spilled");

        var acked = new HashSet<string>();
        var early = new List<string>();
        var duplicates = 0;
        async Task TakeAsync(RawConsumer from, Func<bool> until)
        {
            while (!until() && await from.ReceiveAsync(Wait) is { } m)
            {
                var now = Now;
                if (now < DueOf(m))
                    early.Add($"{m.Payload} at {now}");
                if (acked.Contains(m.Payload))
                    duplicates++;
                Assert.Equal("", await from.AckAsync([m]));
                acked.Add(m.Payload);
            }
        }

        // Some come due before the restart, the rest after: held only by the log and found again.
        await TakeAsync(consumer, () => acked.Count >= 100);
        await consumer.DisposeAsync();
        await broker.RestartAsync();
        await using var again = await RawConsumer.SubscribeAsync(broker.Client(), subscribe);
        await TakeAsync(again, () => acked.Count >= 400);

        Assert.Empty(early);
        Assert.Equal(0, duplicates);
        Assert.Equal(400, acked.Count);
        Assert.Null(await again.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The condition did not hold in time.");
            await Task.Delay(20);
        }
    }
}
