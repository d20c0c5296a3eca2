using Microsoft.Extensions.DependencyInjection;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>A clock that moves only when told to: rates are checked without waiting for real seconds.</summary>
public sealed class ManualClock : TimeProvider
{
    private long _ticks = DateTimeOffset.UtcNow.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>A broker whose managed ledgers (and so rates and stats timestamps) run on a <see cref="ManualClock"/>.</summary>
public sealed class ClockedBrokerFixture : IAsyncLifetime
{
    public ManualClock Clock { get; } = new();

    public LocalBroker Broker { get; private set; } = null!;

    public async Task InitializeAsync()
        => Broker = await LocalBroker.StartAsync(roles: b => b.Services.AddSingleton<TimeProvider>(Clock));

    public async Task DisposeAsync() => await Broker.DisposeAsync();
}

/// <summary>Topic stats while producers and consumers move messages through real gRPC streams.</summary>
public sealed class TopicStatsTests(ClockedBrokerFixture fixture) : IClassFixture<ClockedBrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private Messaging.MessagingClient Client => fixture.Broker.Client();

    private Task<TopicStats> StatsAsync(string topic) => fixture.Broker.Server.Admin.GetStatsAsync(TopicName.Parse(topic), CancellationToken.None);

    private static IEnumerable<MessageBatch> Batches(int batches, int perBatch)
        => Enumerable.Range(0, batches).Select(b => RawProducer.Batch(Enumerable.Range(0, perBatch).Select(i => $"message-{b}-{i}")));

    private static async Task<List<Received>> ReceiveAsync(RawConsumer consumer, int count)
    {
        var received = new List<Received>(count);
        while (received.Count < count)
            received.Add(await consumer.ReceiveAsync(Wait) ?? throw new Xunit.Sdk.XunitException($"Only {received.Count} of {count} messages arrived."));
        return received;
    }

    private static Subscribe Earliest(string topic, string subscription, string consumer)
        => new() { Topic = topic, Subscription = subscription, Type = SubscriptionType.Shared, InitialPosition = InitialPosition.Earliest, ConsumerName = consumer };

    [Fact]
    public async Task Publisher_subscription_and_consumer_rates_move_with_the_messages_they_carry()
    {
        var topic = BrokerFixture.NewTopic("rates");
        await using var consumer = await RawConsumer.SubscribeAsync(Client, Earliest(topic, "s", "reader-1"));
        await using var producer = await RawProducer.OpenAsync(Client, topic, "writer-1");
        var answers = await producer.SendAllAsync(Batches(5, 4));
        Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        var received = await ReceiveAsync(consumer, 20);
        var deliveredAt = fixture.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.Equal("", await consumer.AckAsync(received));

        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        var stats = await StatsAsync(topic);

        Assert.Equal(10, stats.MsgRateIn, 3);
        var publisher = Assert.Single(stats.Publishers);
        Assert.Equal("writer-1", publisher.ProducerName);
        Assert.Equal(10, publisher.MsgRateIn, 3);
        Assert.Equal(stats.MsgThroughputIn, publisher.MsgThroughputIn, 3);
        Assert.True(publisher.MsgThroughputIn > 0);
        Assert.Equal(publisher.MsgThroughputIn / 10, publisher.AverageMsgSize, 3);
        Assert.Equal(stats.MsgThroughputIn / stats.MsgRateIn, stats.AverageMsgSize, 3);
        Assert.Equal(20, publisher.MsgInCounter);

        var subscription = stats.Subscriptions["s"];
        Assert.Equal(10, subscription.MsgRateOut, 3);
        Assert.True(subscription.MsgThroughputOut > 0);
        Assert.Equal(0, subscription.MsgRateRedeliver);
        Assert.Equal(deliveredAt, subscription.LastConsumedTimestamp);
        Assert.Equal(deliveredAt, subscription.LastAckedTimestamp);
        var reader = Assert.Single(subscription.Consumers);
        Assert.Equal(10, reader.MsgRateOut, 3);
        Assert.Equal(subscription.MsgThroughputOut, reader.MsgThroughputOut, 3);
        Assert.Equal(20, reader.MsgOutCounter);
        Assert.Equal(deliveredAt, reader.LastAckedTimestamp);
        Assert.Equal(10, stats.MsgRateOut, 3);

        // Nothing moves for the next two seconds: every rate falls back to 0.
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        stats = await StatsAsync(topic);
        Assert.Equal(0, stats.MsgRateIn);
        Assert.Equal(0, Assert.Single(stats.Publishers).MsgRateIn);
        Assert.Equal(0, stats.Subscriptions["s"].MsgRateOut);
        Assert.Equal(0, Assert.Single(stats.Subscriptions["s"].Consumers).MsgRateOut);
    }

    [Fact]
    public async Task Messages_given_to_another_consumer_after_one_leaves_show_as_a_redelivery_rate()
    {
        var topic = BrokerFixture.NewTopic("redeliver");
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
        {
            await using var first = await RawConsumer.SubscribeAsync(Client, Earliest(topic, "s", "first"));
            await producer.SendAllAsync(Batches(3, 2));
            await ReceiveAsync(first, 6);
        }
        await using var second = await RawConsumer.SubscribeAsync(Client, Earliest(topic, "s", "second"));
        await ReceiveAsync(second, 6);

        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        var subscription = (await StatsAsync(topic)).Subscriptions["s"];
        Assert.Equal(3, subscription.MsgRateRedeliver, 3);
        Assert.Equal(3, Assert.Single(subscription.Consumers).MsgRateRedeliver, 3);
        Assert.Equal(6, subscription.UnackedMessages);
    }

    [Fact]
    public async Task The_backlog_counts_the_messages_in_batches_and_the_entries_that_hold_them()
    {
        var topic = BrokerFixture.NewTopic("backlog");
        await using var consumer = await RawConsumer.SubscribeAsync(Client, Earliest(topic, "s", "c"));
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
            await producer.SendAllAsync([.. Batches(3, 4), .. Batches(2, 1)]);
        var received = await ReceiveAsync(consumer, 14);

        var stats = (await StatsAsync(topic)).Subscriptions["s"];
        Assert.Equal(14, stats.MsgBacklog);
        Assert.Equal(5, stats.BacklogEntries);
        Assert.Equal(14, stats.UnackedMessages);
        Assert.True(stats.BacklogSize > 0);
        var size = stats.BacklogSize;

        // One message of the first batch, the whole second batch and one single-message entry.
        Assert.Equal("", await consumer.AckAsync([received[1], .. received.Skip(4).Take(4), received[12]]));
        stats = (await StatsAsync(topic)).Subscriptions["s"];
        Assert.Equal(8, stats.MsgBacklog);
        Assert.Equal(3, stats.BacklogEntries);
        Assert.Equal(8, stats.UnackedMessages);
        Assert.InRange(stats.BacklogSize, 1, size - 1);

        Assert.Equal("", await consumer.AckAsync(received));
        stats = (await StatsAsync(topic)).Subscriptions["s"];
        Assert.Equal(0, stats.MsgBacklog);
        Assert.Equal(0, stats.BacklogEntries);
        Assert.Equal(0, stats.BacklogSize);
    }
}
