using System.Diagnostics;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Client;
using Tiered.Testing;
using static System.FormattableString;
using static Tiered.Bench.Cluster.ClusterRun;

namespace Tiered.Bench.Cluster;

/// <summary>
/// Many topics across the brokers: each topic is looked up, opened with a producer, sent one
/// message and closed, by a fixed number of concurrent workers over one client. Reports the time
/// for all of them, and each broker's resident memory (VmRSS) before and after, per topic it owns.
/// </summary>
public sealed class ManyTopicsPhase(BrokerCluster cluster, ClusterBenchOptions options)
{
    private const int Workers = 32;
    private const int Bundles = 48;
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var ns = await cluster.CreateNamespaceAsync("many", Bundles);
        var bundles = NamespaceBundles.Even(ns, Bundles);
        var topics = Enumerable.Range(0, options.ManyTopics).Select(i => $"persistent://{ns}/t-{i}").ToArray();
        var brokers = Enumerable.Range(0, cluster.BrokerCount).Where(cluster.IsRunning).ToArray();
        Progress($"topics: brokers idle {Idle.TotalSeconds:F0} s before the memory reading...");
        await Task.Delay(Idle, cancellationToken);
        var before = brokers.ToDictionary(b => b, b => ProcessMemory.Of(cluster.Broker(b)!.Pid));
        var others = ClusterFacts.Processes(cluster).Where(p => !p.Name.StartsWith("broker", StringComparison.Ordinal) && !p.Name.StartsWith("bench", StringComparison.Ordinal))
            .ToDictionary(p => p.Name, p => (p.Pid, Before: ProcessMemory.Of(p.Pid).ResidentMB));

        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = cluster.AllServiceUrls });
        var payload = new byte[100];
        var times = new double[topics.Length];
        var next = -1;
        var done = 0;
        var finishedAt = new long[topics.Length];
        var errors = 0;
        string? lastError = null;
        using var progressStop = new CancellationTokenSource();
        var progress = PhaseProgress.ReportAsync("topics opened", TimeSpan.Zero, () => Volatile.Read(ref done), "topics", progressStop.Token);
        var cpu = new CpuSnapshot(ClusterFacts.Processes(cluster));
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < topics.Length)
            {
                var at = Stopwatch.GetTimestamp();
                try
                {
                    await using var producer = await client.CreateProducerAsync(new ProducerOptions(topics[i]) { BatchingEnabled = false }, cancellationToken);
                    await producer.SendAsync(payload, cancellationToken: cancellationToken);
                }
                catch (TieredClientException e)
                {
                    Interlocked.Increment(ref errors);
                    lastError = e.Message;
                }
                times[i] = Stopwatch.GetElapsedTime(at).TotalMilliseconds;
                finishedAt[i] = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref done);
            }
        }, CancellationToken.None)));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var (cores, busy) = cpu.Cores();
        await progressStop.CancelAsync();
        await progress;
        Progress(Invariant($"topics: {topics.Length:N0} opened in {elapsed:F1} s ({topics.Length / elapsed:N0}/s), errors {errors}; idle {Idle.TotalSeconds:F0} s before the memory reading..."));
        await Task.Delay(Idle, cancellationToken);

        var owners = await ClusterFacts.OwnersAsync(cluster, ns);
        var owned = brokers.ToDictionary(b => b, b => topics.Count(t => owners.GetValueOrDefault(bundles.Find(TopicName.Parse(t)).Range) == cluster.BrokerId(b)));
        var sorted = times.Order().ToList();

        Console.WriteLine(Invariant($"### {topics.Length:N0} topics across {brokers.Length} brokers"));
        Console.WriteLine();
        Console.WriteLine(Invariant($"One namespace of {Bundles} bundles. {Workers} concurrent workers over one client; for each topic: `CreateProducerAsync` (lookup, then the owner loads the topic: ")
            + "its managed ledger, a new ledger on the bookies), one 100 B message sent and receipted, producer closed. Topics stay loaded after their producer closed. "
            + Invariant($"Memory: each broker's VmRSS after {Idle.TotalSeconds:F0} s idle before and after."));
        Console.WriteLine();
        Console.WriteLine(Invariant($"- all {topics.Length:N0} topics: **{elapsed:F1} s**, {topics.Length / elapsed:N0} topics/s, {errors} errors{(lastError is null ? "" : $" (last: {lastError})")}"));
        Console.WriteLine(Invariant($"- per topic (open, send, close), with {Workers} at once: p50 {Percentile(sorted, 50):F0} ms, p99 {Percentile(sorted, 99):F0} ms, max {sorted[^1]:F0} ms"));
        var buckets = finishedAt.GroupBy(t => (int)(Ms(started, t) / 10_000)).ToDictionary(g => g.Key, g => g.Count());
        Console.WriteLine("- topics opened per 10 s: " + string.Join(", ", Enumerable.Range(0, buckets.Keys.Max() + 1).Select(k => Invariant($"{buckets.GetValueOrDefault(k):N0}"))));
        Console.WriteLine(Invariant($"- CPU meanwhile: ") + string.Join(", ", cores.Where(c => c.Cores >= 0.005).Select(c => Invariant($"{c.Name} {c.Cores:F2}"))) + Invariant($" cores; machine {busy:F0} % busy"));
        Console.WriteLine();
        Console.WriteLine("| broker | topics owned | VmRSS before | VmRSS after | delta | per topic |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var b in brokers)
        {
            var after = ProcessMemory.Of(cluster.Broker(b)!.Pid);
            var delta = after.ResidentMB - before[b].ResidentMB;
            Console.WriteLine(Invariant($"| broker {b + 1} | {owned[b]:N0} | {before[b].ResidentMB:F0} MB | {after.ResidentMB:F0} MB | {delta:F0} MB | {(owned[b] == 0 ? "—" : $"{delta * 1e6 / owned[b] / 1024:F1} KiB")} |"));
        }
        Console.WriteLine();
        Console.WriteLine("Other processes, VmRSS before → after: " + string.Join(", ", others.Select(o => Invariant($"{o.Key} {o.Value.Before:F0} → {ProcessMemory.Of(o.Value.Pid).ResidentMB:F0} MB"))) + ".");
        Console.WriteLine();
    }
}
