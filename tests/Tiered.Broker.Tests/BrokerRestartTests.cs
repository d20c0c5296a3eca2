using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

public class BrokerRestartTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task After_a_broker_restart_acknowledged_messages_are_not_redelivered_and_unacknowledged_ones_are()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        var subscribe = new Subscribe { Topic = topic, Subscription = "s", Type = SubscriptionType.Shared, InitialPosition = InitialPosition.Earliest };
        var consumer = await RawConsumer.SubscribeAsync(broker.Client(), subscribe);
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            await producer.SendAllAsync(Enumerable.Range(0, 50).Select(b => RawProducer.Batch(Enumerable.Range(0, 4).Select(i => $"m{b * 4 + i}"))));

        var received = new List<Received>();
        while (received.Count < 200 && await consumer.ReceiveAsync(Wait) is { } m)
            received.Add(m);
        Assert.Equal(200, received.Count);
        // Acknowledge every third message, some of them single messages of batches.
        var acked = received.Where((_, i) => i % 3 == 0).ToList();
        Assert.Equal("", await consumer.AckAsync(acked));
        await consumer.DisposeAsync();

        await broker.RestartAsync();

        await using var again = await RawConsumer.SubscribeAsync(broker.Client(), subscribe);
        var expected = received.Except(acked).Select(m => m.Payload).ToHashSet();
        var redelivered = new List<string>();
        while (redelivered.Count < expected.Count && await again.ReceiveAsync(Wait) is { } m)
            redelivered.Add(m.Payload);
        Assert.Equal(expected.Count, redelivered.Count);
        Assert.Equal(expected, redelivered.ToHashSet());
        Assert.Null(await again.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task Messages_stored_before_a_restart_are_all_readable_after_it()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            await producer.SendAllAsync(Enumerable.Range(0, 30).Select(i => RawProducer.Batch([$"m{i}"])));
        await broker.RestartAsync();
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), topic))
            await producer.SendAllAsync(Enumerable.Range(30, 10).Select(i => RawProducer.Batch([$"m{i}"])));

        await using var reader = await RawConsumer.SubscribeAsync(broker.Client(), new Subscribe { Topic = topic, Reader = true, InitialPosition = InitialPosition.Earliest });
        var read = new List<string>();
        while (read.Count < 40 && await reader.ReceiveAsync(Wait) is { } m)
            read.Add(m.Payload);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"m{i}"), read);
    }
}
