using System.Diagnostics;
using Tiered.Broker.Ownership;
using Tiered.Testing;
using Tiered.V1;
using static System.FormattableString;
using static Tiered.Bench.Cluster.ClusterRun;

namespace Tiered.Bench.Cluster;

/// <summary>
/// gRPC Lookup latency, one request at a time, each to a broker picked at random: of topics whose
/// bundle is owned (warm: answered from the broker's memory, whichever broker is asked), and of the
/// first topic of fresh bundles (cold: the lookup places the bundle through its ownership grain,
/// which takes it in the metadata service).
/// </summary>
public sealed class LookupPhase(BrokerCluster cluster, ClusterBenchOptions options)
{
    private const int WarmBundles = 12;
    private const int WarmTopics = 100;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var random = new Random(13);
        var brokers = Enumerable.Range(0, cluster.BrokerCount).Where(cluster.IsRunning).ToArray();

        var warmNs = await cluster.CreateNamespaceAsync("lookup-warm", WarmBundles);
        var warmTopics = Enumerable.Range(0, WarmTopics).Select(i => $"persistent://{warmNs}/t-{i}").ToArray();
        foreach (var topic in warmTopics)
            await cluster.OwnerAsync(topic);
        Progress($"lookup: {options.WarmLookups} warm lookups...");
        // A few untimed first (JIT, connections to every broker).
        for (var i = 0; i < 50; i++)
            await LookupAsync(brokers[i % brokers.Length], warmTopics[i % warmTopics.Length]);
        var warm = new List<double>();
        var localAnswers = 0;
        for (var i = 0; i < options.WarmLookups; i++)
        {
            var broker = brokers[random.Next(brokers.Length)];
            var (ms, url) = await LookupAsync(broker, warmTopics[random.Next(warmTopics.Length)]);
            warm.Add(ms);
            if (cluster.IndexOf(url) == broker)
                localAnswers++;
        }

        var coldNs = await cluster.CreateNamespaceAsync("lookup-cold", options.ColdLookups);
        var coldTopics = ClusterFacts.OneTopicPerBundle(NamespaceBundles.Even(coldNs, options.ColdLookups), "t");
        Progress($"lookup: {coldTopics.Count} cold lookups (one per fresh bundle)...");
        var cold = new List<double>();
        var placedOnAsked = 0;
        foreach (var topic in coldTopics)
        {
            var broker = brokers[random.Next(brokers.Length)];
            var (ms, url) = await LookupAsync(broker, topic);
            cold.Add(ms);
            if (cluster.IndexOf(url) == broker)
                placedOnAsked++;
        }
        var spread = await ClusterFacts.SpreadAsync(cluster, coldNs);
        warm.Sort();
        cold.Sort();
        Progress(Invariant($"lookup: warm p50 {Percentile(warm, 50):F2} ms p99 {Percentile(warm, 99):F2} ms; cold p50 {Percentile(cold, 50):F2} ms p99 {Percentile(cold, 99):F2} ms"));

        Console.WriteLine("### Lookup latency");
        Console.WriteLine();
        Console.WriteLine(Invariant($"gRPC `Lookup`, one at a time, each to one of the {brokers.Length} brokers at random (a plain gRPC client, channels open). ")
            + Invariant($"Warm: {WarmTopics} topics of a namespace of {WarmBundles} bundles, all placed before; {warm.Count:N0} lookups, {100.0 * localAnswers / warm.Count:F0} % of them answered by the owner itself. ")
            + Invariant($"Cold: a namespace of {options.ColdLookups} bundles, one topic per bundle, so every lookup is the first of its bundle and places it; ")
            + Invariant($"{100.0 * placedOnAsked / cold.Count:F0} % were placed on the broker asked; bundles per broker afterwards {spread}."));
        Console.WriteLine();
        Console.WriteLine("| lookup | count | p50 | p90 | p99 | max |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, list) in new[] { ("warm (bundle owned)", warm), ("cold (first of its bundle)", cold) })
        {
            Console.WriteLine(Invariant($"| {name} | {list.Count:N0} | {Percentile(list, 50):F2} ms | {Percentile(list, 90):F2} ms | {Percentile(list, 99):F2} ms | {list[^1]:F2} ms |"));
        }
        Console.WriteLine();
    }

    private async Task<(double Ms, string Url)> LookupAsync(int broker, string topic)
    {
        var started = Stopwatch.GetTimestamp();
        var answer = await cluster.Messaging(broker).LookupAsync(new LookupRequest { Topic = topic }, deadline: DateTime.UtcNow.AddSeconds(30));
        return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, answer.BrokerUrl);
    }
}
