using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Tiered.Broker.Naming;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>
/// The broker's Pulsar-named instruments, observed from a real broker while producers and consumers
/// move messages over gRPC. Each test uses its own namespace, so the broker it shares is no bother.
/// </summary>
public sealed class InstrumentationTests(ClockedBrokerFixture fixture) : IClassFixture<ClockedBrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private LocalBroker Broker => fixture.Broker;

    private Instrumentation Instrumentation => Broker.Server.Topics.Instrumentation;

    private async Task<string> NewNamespaceAsync()
    {
        var ns = $"public/m-{Guid.NewGuid():N}";
        await Broker.Metadata.PutAsync($"/admin/policies/{ns}", """{"replication_clusters":["standalone"]}"""u8.ToArray());
        return ns;
    }

    /// <summary>Collects the observable instruments once and answers <paramref name="name"/>'s value for <paramref name="ns"/> (null: none).</summary>
    private T? Observe<T>(string name, string ns, string? topic = null) where T : struct
    {
        using var collector = new MetricCollector<T>(Instrumentation.Meter, name);
        collector.RecordObservableInstruments();
        var matching = collector.GetMeasurementSnapshot()
            .Where(m => (string?)m.Tags["namespace"] == ns && (topic is null || (m.Tags.TryGetValue("topic", out var t) && (string?)t == topic)))
            .ToList();
        return matching.Count == 0 ? null : Assert.Single(matching).Value;
    }

    [Fact]
    public async Task Ten_messages_published_and_consumed_move_the_namespace_counters_by_ten()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/t";
        using var latency = new MetricCollector<double>(Instrumentation.PublishLatency);
        await using var consumer = await RawConsumer.SubscribeAsync(Broker.Client(), new Subscribe
        {
            Topic = topic, Subscription = "s", Type = SubscriptionType.Shared, InitialPosition = InitialPosition.Earliest, ConsumerName = "c",
        });
        List<Received> received = [];
        await using (var producer = await RawProducer.OpenAsync(Broker.Client(), topic))
        {
            var batches = Enumerable.Range(0, 5).Select(b => RawProducer.Batch([$"m-{b}-0", $"m-{b}-1"]));
            Assert.All(await producer.SendAllAsync(batches), a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
            while (received.Count < 10)
                received.Add(await consumer.ReceiveAsync(Wait) ?? throw new Xunit.Sdk.XunitException($"Only {received.Count} of 10 messages arrived."));

            Assert.Equal(1, Observe<long>("pulsar_producers_count", ns));
        }
        var loaded = Broker.Server.Topics.FindLoaded(TopicName.Parse(topic))!;

        Assert.Equal(10, Observe<long>("pulsar_in_messages", ns));
        Assert.Equal(loaded.BytesIn, Observe<long>("pulsar_in_bytes", ns));
        Assert.Equal(10, Observe<long>("pulsar_out_messages", ns));
        Assert.Equal(loaded.BytesIn, Observe<long>("pulsar_out_bytes", ns));
        Assert.Equal(1, Observe<long>("pulsar_topics_count", ns));
        Assert.Equal(1, Observe<long>("pulsar_subscriptions_count", ns));
        Assert.Equal(1, Observe<long>("pulsar_consumers_count", ns));
        Assert.Equal(0, Observe<long>("pulsar_producers_count", ns));
        Assert.Equal(10, Observe<long>("pulsar_msg_backlog", ns));
        Assert.Equal(loaded.StorageSize(), Observe<long>("pulsar_storage_size", ns));
        Assert.InRange(loaded.StorageSize(), loaded.BytesIn, long.MaxValue);
        var published = latency.GetMeasurementSnapshot().Where(m => (string?)m.Tags["namespace"] == ns).ToList();
        Assert.Equal(5, published.Count);
        Assert.All(published, m => Assert.Equal("standalone", m.Tags["cluster"]));
        Assert.False(published[0].Tags.ContainsKey("topic"));

        Assert.Equal("", await consumer.AckAsync(received));
        Assert.Equal(0, Observe<long>("pulsar_msg_backlog", ns));
    }

    [Fact]
    public async Task Rates_are_messages_and_bytes_per_second_since_the_previous_collection()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/t";
        await using var producer = await RawProducer.OpenAsync(Broker.Client(), topic);
        Observe<double>("pulsar_rate_in", ns);
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        Observe<double>("pulsar_rate_in", ns);

        await producer.SendAllAsync(Enumerable.Range(0, 10).Select(b => RawProducer.Batch([$"m-{b}-0", $"m-{b}-1"])));
        fixture.Clock.Advance(TimeSpan.FromSeconds(4));
        var bytesIn = Broker.Server.Topics.FindLoaded(TopicName.Parse(topic))!.BytesIn;

        Assert.Equal(5, Observe<double>("pulsar_rate_in", ns)!.Value, 3);
        Assert.Equal(bytesIn / 4.0, Observe<double>("pulsar_throughput_in", ns)!.Value, 3);
        Assert.Equal(0, Observe<double>("pulsar_rate_out", ns));
    }

    [Fact]
    public async Task Counters_of_a_namespace_keep_what_its_unloaded_topics_counted()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/t";
        await using (var producer = await RawProducer.OpenAsync(Broker.Client(), topic))
            await producer.SendAllAsync([RawProducer.Batch(["a", "b", "c"])]);

        await Broker.Server.Topics.UnloadAsync(TopicName.Parse(topic));

        Assert.Null(Observe<long>("pulsar_topics_count", ns));
        Assert.Equal(3, Observe<long>("pulsar_in_messages", ns));
        await using (var producer = await RawProducer.OpenAsync(Broker.Client(), topic))
            await producer.SendAllAsync([RawProducer.Batch(["d"])]);
        Assert.Equal(4, Observe<long>("pulsar_in_messages", ns));
    }
}

/// <summary>With <see cref="BrokerOptions.ExposeTopicLevelMetrics"/>, each topic has its own series.</summary>
public sealed class TopicLevelInstrumentationTests
{
    [Fact]
    public async Task With_topic_level_metrics_each_topic_is_measured_under_its_own_label()
    {
        await using var broker = await LocalBroker.StartAsync(o => o with { ExposeTopicLevelMetrics = true });
        const string First = "persistent://public/default/first", Second = "persistent://public/default/second";
        using var latency = new MetricCollector<double>(broker.Server.Topics.Instrumentation.PublishLatency);
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), First))
            await producer.SendAllAsync([RawProducer.Batch(["a", "b"])]);
        await using (var producer = await RawProducer.OpenAsync(broker.Client(), Second))
            await producer.SendAllAsync([RawProducer.Batch(["c"]), RawProducer.Batch(["d", "e", "f"])]);

        using var collector = new MetricCollector<long>(broker.Server.Topics.Instrumentation.Meter, "pulsar_in_messages");
        collector.RecordObservableInstruments();
        var byTopic = collector.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["topic"]!, m => m.Value);

        Assert.Equal(new Dictionary<string, long> { [First] = 2, [Second] = 4 }, byTopic);
        Assert.Equal([First, Second, Second], latency.GetMeasurementSnapshot().Select(m => (string)m.Tags["topic"]!).Order());
    }
}
