using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Client;
using Tiered.Testing;
using static System.FormattableString;

namespace Tiered.Bench.Cluster;

/// <summary>
/// One run of <c>tiered-bench cluster</c>: starts the cluster (<see cref="BrokerCluster"/>), runs the
/// chosen phases in order and prints each phase's Markdown on stdout as soon as it is measured
/// (progress on stderr), so a failing later phase does not lose the earlier figures.
/// </summary>
public sealed class ClusterRun(ClusterBenchOptions options)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private BrokerCluster _cluster = null!;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);
        ReportHeader.Write(Console.Out, options.CommandLine, machine, directory.Path, fileSystem, disk);

        var initial = options.Runs(ClusterBenchOptions.Throughput) ? 1 : ClusterBenchOptions.Brokers;
        Progress($"starting {options.MetadataNodes} metadata node(s), {ClusterBenchOptions.Bookies} bookies and {initial} broker(s) ({TieredProcess.CliPath})...");
        var started = Stopwatch.GetTimestamp();
        // Balancing off: the figures are of the moves this benchmark makes (unloads, kills), not of ones the balancer picks meanwhile.
        _cluster = await BrokerCluster.StartAsync(options.MetadataNodes, ClusterBenchOptions.Bookies, initial, ClusterBenchOptions.Quorum,
            spareBrokers: ClusterBenchOptions.Brokers - initial, "--balance-interval", "0");
        await using (_cluster)
        {
            Console.WriteLine(Invariant($"Cluster: {options.MetadataNodes} metadata node(s), {ClusterBenchOptions.Bookies} bookies, ledgers E={ClusterBenchOptions.Quorum.E} Qw={ClusterBenchOptions.Quorum.Qw} Qa={ClusterBenchOptions.Quorum.Qa}, ")
                + Invariant($"up to {ClusterBenchOptions.Brokers} brokers (`tiered broker` processes, Orleans silos, probe timeout 500 ms × 3 missed probes, load balancing off), ")
                + Invariant($"all on 127.0.0.1; started in {Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s. The client is the .NET client with the multi-host service URL of all {ClusterBenchOptions.Brokers} brokers and its default reconnect backoff (100 ms, then each wait drawn between 100 ms and 3× the previous one, at most 5 s)."));
            Console.WriteLine();
            try
            {
                if (options.Runs(ClusterBenchOptions.Throughput))
                    await new ThroughputPhase(_cluster, options).RunAsync(cancellationToken);
                if (options.Runs(ClusterBenchOptions.Lookup))
                    await new LookupPhase(_cluster, options).RunAsync(cancellationToken);
                if (options.Runs(ClusterBenchOptions.Unload))
                    await new UnloadPhase(_cluster, options).RunAsync(cancellationToken);
                if (options.Runs(ClusterBenchOptions.Failover))
                    await new FailoverPhase(_cluster, options).RunAsync(cancellationToken);
                if (options.Runs(ClusterBenchOptions.Topics))
                    await new ManyTopicsPhase(_cluster, options).RunAsync(cancellationToken);
                SaveLogs();
            }
            catch (Exception e) when (e is TimeoutException or TieredClientException or InvalidOperationException)
            {
                SaveLogs();
                Console.Error.WriteLine($"the benchmark failed: {e}");
                Console.Error.WriteLine(_cluster.Logs());
                Console.WriteLine($"**The run failed:** {e.Message.Split('\n')[0]}");
                return 1;
            }
        }
        return 0;
    }

    /// <summary>The brokers' logs of the run, kept after the data directory is deleted: /tmp/tiered-bench-cluster-brokers.log.</summary>
    private void SaveLogs()
    {
        var path = "/tmp/tiered-bench-cluster-brokers.log";
        File.WriteAllText(path, _cluster.Logs());
        Progress($"the brokers' logs are in {path}");
    }

    public static void Progress(string line) => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {line}");

    /// <summary>Milliseconds of a Stopwatch interval.</summary>
    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    /// <summary>The value at percentile <paramref name="p"/> of sorted values (nearest rank).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
        => sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static string F(double value, string format = "F0") => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>What the phases share: the owners of bundles as the metadata service records them, and the processes to watch.</summary>
public static class ClusterFacts
{
    /// <summary>The broker id owning each bundle of <paramref name="ns"/> that has an owner, from /namespace/{t}/{ns}/{range}.</summary>
    public static async Task<Dictionary<string, string>> OwnersAsync(BrokerCluster cluster, NamespaceName ns)
    {
        var records = await cluster.Metadata.Client.ListAsync($"/namespace/{ns.Tenant}/{ns.Namespace}/");
        var owners = new Dictionary<string, string>();
        foreach (var record in records)
        {
            using var json = JsonDocument.Parse(record.Value.Memory);
            owners[record.Key[(record.Key.LastIndexOf('/') + 1)..]] = json.RootElement.GetProperty("brokerId").GetString()!;
        }
        return owners;
    }

    /// <summary>"a / b / c": bundles owned per broker slot that runs.</summary>
    public static async Task<string> SpreadAsync(BrokerCluster cluster, NamespaceName ns)
    {
        var owners = await OwnersAsync(cluster, ns);
        return string.Join(" / ", Enumerable.Range(0, cluster.BrokerCount).Where(cluster.IsRunning)
            .Select(b => owners.Values.Count(o => o == cluster.BrokerId(b)).ToString(CultureInfo.InvariantCulture)));
    }

    /// <summary>The cluster's processes by name: brokers that run, bookies, metadata nodes.</summary>
    public static List<(string Name, int Pid)> Processes(BrokerCluster cluster)
    {
        var list = new List<(string, int)>();
        for (var b = 0; b < cluster.BrokerCount; b++)
        {
            if (cluster.IsRunning(b))
                list.Add(($"broker {b + 1}", cluster.Broker(b)!.Pid));
        }
        list.AddRange(cluster.BookiePids.Select((pid, i) => ($"bookie {i + 1}", pid)));
        for (var m = 0; m < cluster.Metadata.Size; m++)
        {
            if (cluster.Metadata.Node(m) is { HasExited: false } node)
                list.Add(($"metadata {m + 1}", node.Pid));
        }
        list.Add(("bench (client)", Environment.ProcessId));
        return list;
    }

    /// <summary>A topic name in each of <paramref name="bundles"/>' bundles (the first "{prefix}-N" that hashes into it).</summary>
    public static List<string> OneTopicPerBundle(NamespaceBundles bundles, string prefix)
    {
        var found = new Dictionary<int, string>();
        for (var i = 0; found.Count < bundles.Count; i++)
        {
            var topic = $"persistent://{bundles.Namespace}/{prefix}-{i}";
            var bundle = bundles.Find(TopicName.Parse(topic));
            var index = Enumerable.Range(0, bundles.Count).First(b => bundles[b] == bundle);
            found.TryAdd(index, topic);
        }
        return [.. found.OrderBy(f => f.Key).Select(f => f.Value)];
    }
}
