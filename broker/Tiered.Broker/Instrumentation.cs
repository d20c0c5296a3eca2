using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Tiered.Broker.Topics;

namespace Tiered.Broker;

/// <summary>
/// The broker's instruments, on the meter <see cref="MeterName"/>, named as Pulsar's broker names
/// them so that Pulsar dashboards work (docs/observability.md). Rates, counts, backlog and
/// storage are observed from the loaded topics when metrics are collected, so publishing and
/// dispatching do no work for them; only the publish latency is recorded per batch. Values are
/// per namespace, or per topic when <see cref="BrokerOptions.ExposeTopicLevelMetrics"/> is on.
/// One instance per process (a DI singleton); a <see cref="TopicRegistry"/> given none makes its own.
/// </summary>
public sealed partial class Instrumentation : IDisposable
{
    public const string MeterName = "Tiered.Broker";

    /// <summary>Bucket bounds (seconds) for latencies from a fraction of a millisecond to seconds.</summary>
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

    private readonly ConcurrentDictionary<TopicRegistry, byte> _registries = new();
    private readonly bool _ownsMeter;

    public Instrumentation(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        // Pulsar's names carry no unit suffix: the instruments have no unit, so the exporter adds none.
        PublishLatency = Meter.CreateHistogram<double>("pulsar_broker_publish_latency", null,
            "Seconds from the broker's receipt of a batch to its confirmation by storage",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        Meter.CreateObservableGauge("pulsar_rate_in", () => Rates(incoming: true, bytes: false), null, "Messages per second published");
        Meter.CreateObservableGauge("pulsar_rate_out", () => Rates(incoming: false, bytes: false), null, "Messages per second dispatched to consumers");
        Meter.CreateObservableGauge("pulsar_throughput_in", () => Rates(incoming: true, bytes: true), null, "Bytes per second published");
        Meter.CreateObservableGauge("pulsar_throughput_out", () => Rates(incoming: false, bytes: true), null, "Bytes per second dispatched to consumers");
        Meter.CreateObservableGauge("pulsar_msg_backlog", () => PerTopic(static t => t.TotalBacklogMessages()), null,
            "Messages not yet acknowledged, summed over the subscriptions");
        Meter.CreateObservableGauge("pulsar_storage_size", () => PerTopic(static t => t.StorageSize()), null,
            "Bytes of the topics' ledgers on the bookies (offloaded ledgers whose bookie copy is deleted do not count)");
        Meter.CreateObservableGauge("pulsar_producers_count", () => PerTopic(static t => t.ProducerCount), null, "Connected producers");
        Meter.CreateObservableGauge("pulsar_consumers_count", () => PerTopic(static t => t.ConsumerCount()), null, "Connected consumers");
        Meter.CreateObservableGauge("pulsar_subscriptions_count", () => PerTopic(static t => t.SubscriptionCount), null,
            "Subscriptions (durable ones and readers')");
        Meter.CreateObservableGauge("pulsar_topics_count", TopicCounts, null, "Topics loaded on this broker");
        // The exporter adds _total to counters: these are exported as pulsar_in_messages_total and so on.
        Meter.CreateObservableCounter("pulsar_in_messages", () => Totals(static t => Interlocked.Read(ref t.MessagesIn), static r => r.MessagesIn), null,
            "Messages published since the broker started");
        Meter.CreateObservableCounter("pulsar_in_bytes", () => Totals(static t => Interlocked.Read(ref t.BytesIn), static r => r.BytesIn), null,
            "Bytes published since the broker started");
        Meter.CreateObservableCounter("pulsar_out_messages", () => Totals(static t => t.MessagesOutTotal, static r => r.MessagesOut), null,
            "Messages dispatched to consumers since the broker started");
        Meter.CreateObservableCounter("pulsar_out_bytes", () => Totals(static t => t.BytesOutTotal, static r => r.BytesOut), null,
            "Bytes dispatched to consumers since the broker started");
    }

    public Meter Meter { get; }

    /// <summary>Seconds from a batch's receipt to its storage confirmation, tagged by namespace (and topic when enabled).</summary>
    public Histogram<double> PublishLatency { get; }

    internal void Track(TopicRegistry registry) => _registries.TryAdd(registry, 0);

    internal void Untrack(TopicRegistry registry) => _registries.TryRemove(registry, out _);

    /// <summary>Disposes the meter if this instance created it; a factory's meters are the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
            Meter.Dispose();
    }
}
