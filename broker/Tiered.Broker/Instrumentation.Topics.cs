using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Tiered.Broker.Naming;
using Tiered.Broker.Topics;

namespace Tiered.Broker;

/// <summary>
/// Reading the loaded topics at collection time: per topic when the registry exposes topic-level
/// metrics, else summed per namespace. Counters of a namespace also keep what its unloaded topics
/// had counted, so they never go down while the broker runs.
/// </summary>
public sealed partial class Instrumentation
{
    private readonly ConcurrentDictionary<(string Cluster, NamespaceName Namespace), NamespaceMetrics> _namespaces = new();

    /// <summary>The labels of <paramref name="topic"/>'s measurements: cluster and namespace, and the topic when <paramref name="perTopic"/>.</summary>
    internal KeyValuePair<string, object?>[] TagsOf(TopicRegistry registry, TopicName topic)
        => registry.Options.ExposeTopicLevelMetrics
            ? [new("cluster", registry.Options.ClusterName), new("namespace", topic.Namespace.ToString()), new("topic", topic.ToString())]
            : NamespaceOf(registry, topic.Namespace).Tags;

    /// <summary>Keeps the counts of a topic that is unloaded or deleted in its namespace's totals.</summary>
    internal void Retire(TopicRegistry registry, Topic topic)
    {
        var metrics = NamespaceOf(registry, topic.Name.Namespace);
        Interlocked.Add(ref metrics.MessagesIn, Interlocked.Read(ref topic.MessagesIn));
        Interlocked.Add(ref metrics.BytesIn, Interlocked.Read(ref topic.BytesIn));
        Interlocked.Add(ref metrics.MessagesOut, topic.MessagesOutTotal);
        Interlocked.Add(ref metrics.BytesOut, topic.BytesOutTotal);
    }

    /// <summary>The namespace's metrics; its rates run on the clock of the registry's managed ledgers, as the topics' do.</summary>
    private NamespaceMetrics NamespaceOf(TopicRegistry registry, NamespaceName ns)
        => _namespaces.GetOrAdd((registry.Options.ClusterName, ns), static (key, time) => new NamespaceMetrics(key.Cluster, key.Namespace, time),
            registry.Time);

    private IEnumerable<(TopicRegistry Registry, Topic Topic)> Topics()
    {
        foreach (var registry in _registries.Keys)
        {
            foreach (var topic in registry.LoadedTopics)
                yield return (registry, topic);
        }
    }

    private IEnumerable<Measurement<long>> PerTopic(Func<Topic, long> read)
    {
        var sums = new Dictionary<NamespaceMetrics, long>();
        foreach (var (registry, topic) in Topics())
        {
            if (registry.Options.ExposeTopicLevelMetrics)
            {
                yield return new Measurement<long>(read(topic), topic.MetricTags);
            }
            else
            {
                var metrics = NamespaceOf(registry, topic.Name.Namespace);
                sums[metrics] = sums.GetValueOrDefault(metrics) + read(topic);
            }
        }
        foreach (var (metrics, sum) in sums)
            yield return new Measurement<long>(sum, metrics.Tags);
    }

    private IEnumerable<Measurement<long>> TopicCounts()
    {
        var counts = new Dictionary<NamespaceMetrics, long>();
        foreach (var (registry, topic) in Topics())
        {
            var metrics = NamespaceOf(registry, topic.Name.Namespace);
            counts[metrics] = counts.GetValueOrDefault(metrics) + 1;
        }
        foreach (var (metrics, count) in counts)
            yield return new Measurement<long>(count, metrics.Tags);
    }

    /// <summary>Monotonic totals: per topic, or per namespace with what its unloaded topics counted.</summary>
    private IEnumerable<Measurement<long>> Totals(Func<Topic, long> read, Func<NamespaceMetrics, long> retired)
    {
        var sums = new Dictionary<NamespaceMetrics, long>();
        var perTopic = new HashSet<NamespaceMetrics>();
        foreach (var (registry, topic) in Topics())
        {
            var metrics = NamespaceOf(registry, topic.Name.Namespace);
            if (registry.Options.ExposeTopicLevelMetrics)
            {
                perTopic.Add(metrics);
                yield return new Measurement<long>(read(topic), topic.MetricTags);
            }
            else
            {
                sums[metrics] = sums.GetValueOrDefault(metrics) + read(topic);
            }
        }
        foreach (var metrics in _namespaces.Values)
        {
            var loaded = sums.TryGetValue(metrics, out var sum);
            var kept = retired(metrics);
            if (!perTopic.Contains(metrics) && (loaded || kept > 0))
                yield return new Measurement<long>(sum + kept, metrics.Tags);
        }
    }

    /// <summary>Per-second rates over the time since the previous collection (at least a second; see <see cref="RateMeter"/>).</summary>
    private IEnumerable<Measurement<double>> Rates(bool incoming, bool bytes)
    {
        var sums = new Dictionary<NamespaceMetrics, RateCounters>();
        foreach (var (registry, topic) in Topics())
        {
            var counters = incoming
                ? new RateCounters(Interlocked.Read(ref topic.MessagesIn), Interlocked.Read(ref topic.BytesIn))
                : new RateCounters(topic.MessagesOutTotal, topic.BytesOutTotal);
            if (registry.Options.ExposeTopicLevelMetrics)
            {
                var rates = (incoming ? topic.CollectedInRates : topic.CollectedOutRates).Sample(counters);
                yield return new Measurement<double>(bytes ? rates.Bytes : rates.Messages, topic.MetricTags);
            }
            else
            {
                var metrics = NamespaceOf(registry, topic.Name.Namespace);
                var sum = sums.GetValueOrDefault(metrics);
                sums[metrics] = new RateCounters(sum.Messages + counters.Messages, sum.Bytes + counters.Bytes);
            }
        }
        foreach (var (metrics, sum) in sums)
        {
            var total = incoming
                ? new RateCounters(sum.Messages + Interlocked.Read(ref metrics.MessagesIn), sum.Bytes + Interlocked.Read(ref metrics.BytesIn))
                : new RateCounters(sum.Messages + Interlocked.Read(ref metrics.MessagesOut), sum.Bytes + Interlocked.Read(ref metrics.BytesOut));
            var rates = (incoming ? metrics.InRates : metrics.OutRates).Sample(total);
            yield return new Measurement<double>(bytes ? rates.Bytes : rates.Messages, metrics.Tags);
        }
    }

    /// <summary>A namespace's labels, rate meters and the counts of its topics no longer loaded.</summary>
    private sealed class NamespaceMetrics(string cluster, NamespaceName ns, TimeProvider time)
    {
        public readonly KeyValuePair<string, object?>[] Tags = [new("cluster", cluster), new("namespace", ns.ToString())];
        public readonly RateMeter InRates = new(time);
        public readonly RateMeter OutRates = new(time);
        public long MessagesIn;
        public long BytesIn;
        public long MessagesOut;
        public long BytesOut;
    }
}
