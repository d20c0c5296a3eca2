using System.Diagnostics;
using Tiered.Client;
using Tiered.Testing;
using static System.FormattableString;
using static Tiered.Bench.Cluster.ClusterRun;

namespace Tiered.Bench.Cluster;

/// <summary>
/// Publish throughput as the cluster grows: one batched producer per topic (1 KB messages, 1,000 in
/// flight each) on a namespace of several bundles, measured with 1 broker, then again after a 2nd
/// and a 3rd broker joined and the namespace was unloaded (its bundles placed anew, on the broker
/// owning the fewest), with the CPU each process used in the same window.
/// </summary>
public sealed class ThroughputPhase(BrokerCluster cluster, ClusterBenchOptions options)
{
    private const int MessageSize = 1024;
    private const int InFlight = 1000;
    private long _receipts;
    private long[] _perProducer = [];
    private long _errors;
    private string? _lastError;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var ns = await cluster.CreateNamespaceAsync("throughput", options.Bundles);
        var topics = Enumerable.Range(0, options.ThroughputTopics).Select(i => $"persistent://{ns}/t-{i}").ToArray();
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = cluster.AllServiceUrls });
        var producers = new List<Producer>();
        foreach (var topic in topics)
            producers.Add(await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = true, MaxPendingMessages = InFlight }, cancellationToken));
        using var stop = new CancellationTokenSource();
        var payload = new byte[MessageSize];
        Random.Shared.NextBytes(payload);
        _perProducer = new long[producers.Count];
        var loops = producers.Select((p, i) => Task.Run(() => SendAsync(p, i, payload, stop.Token), CancellationToken.None)).ToArray();

        var rows = new List<string>();
        var cpuRows = new List<string>();
        try
        {
            for (var brokers = 1; brokers <= ClusterBenchOptions.Brokers; brokers++)
            {
                if (!cluster.IsRunning(brokers - 1))
                {
                    Progress($"throughput: starting broker {brokers}...");
                    await cluster.StartBrokerAsync(brokers - 1);
                    await cluster.WaitReadyAsync(brokers - 1, TimeSpan.FromSeconds(90));
                    Progress($"throughput: unloading {ns} so that its bundles spread over {brokers} brokers...");
                    await cluster.AdminPutAsync(0, $"/admin/v2/namespaces/{ns}/unload");
                }
                // Settle: every producer reconnected (receipts flowing) and every bundle placed again.
                await WaitForFlowAsync(TimeSpan.FromSeconds(60));
                // The first row also warms up (JIT, connections, the first ledgers).
                await Task.Delay(TimeSpan.FromSeconds(brokers == 1 ? 8 : 3), cancellationToken);
                var spread = await ClusterFacts.SpreadAsync(cluster, ns);
                Progress($"throughput: {brokers} broker(s), bundles per broker {spread}; measuring {options.Duration.TotalSeconds:F0} s...");
                var cpu = new CpuSnapshot(ClusterFacts.Processes(cluster));
                var (receipts, errors) = (Interlocked.Read(ref _receipts), Interlocked.Read(ref _errors));
                var startedAt = Stopwatch.GetTimestamp();
                await Task.Delay(options.Duration, cancellationToken);
                var seconds = Stopwatch.GetElapsedTime(startedAt).TotalSeconds;
                var count = Interlocked.Read(ref _receipts) - receipts;
                var (cores, busy) = cpu.Cores();
                var rate = count / seconds;
                Progress(Invariant($"throughput: {brokers} broker(s): {rate:N0} msg/s, {rate * MessageSize / 1e6:F1} MB/s, machine {busy:F0} % busy"));
                rows.Add(Invariant($"| {brokers} | {spread} | {rate:N0} | {rate * MessageSize / 1e6:F1} | {Interlocked.Read(ref _errors) - errors} | {busy:F0} % |"));
                cpuRows.Add(Invariant($"| {brokers} | ") + string.Join(", ", cores.Where(c => c.Cores >= 0.005).Select(c => Invariant($"{c.Name} {c.Cores:F2}")))
                    + Invariant($" | {cores.Where(c => c.Name.StartsWith("broker", StringComparison.Ordinal)).Sum(c => c.Cores):F2} | {cores.Sum(c => c.Cores):F2} |"));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            foreach (var producer in producers)
                await producer.DisposeAsync();
        }

        Console.WriteLine(Invariant($"### Publish throughput with 1, 2 and 3 brokers"));
        Console.WriteLine();
        Console.WriteLine(Invariant($"{topics.Length} topics in one namespace of {options.Bundles} bundles, one producer each (one client), 1 KB messages, batched, {InFlight:N0} in flight per producer, no consumer; ")
            + Invariant($"{options.Duration.TotalSeconds:F0} s per row. A broker joins, then the namespace is unloaded so its bundles are placed again (on the broker owning the fewest); the row is measured once every producer publishes again."));
        Console.WriteLine();
        Console.WriteLine("| brokers | bundles per broker | msg/s | MB/s | send errors | machine busy (both cores) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine();
        Console.WriteLine("CPU per process in the same windows (cores: CPU seconds per second, from /proc/PID/stat):");
        Console.WriteLine();
        Console.WriteLine("| brokers | per process | all brokers | all processes |");
        Console.WriteLine("|---|---|---|---|");
        cpuRows.ForEach(Console.WriteLine);
        Console.WriteLine();
    }

    private async Task SendAsync(Producer producer, int index, byte[] payload, CancellationToken stop)
    {
        using var window = new SemaphoreSlim(InFlight, InFlight);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await window.WaitAsync(stop).ConfigureAwait(false);
                _ = TrackAsync(producer.SendAsync(payload), index, window);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        // Wait for what is in flight, so the producers close cleanly.
        for (var i = 0; i < InFlight; i++)
            await window.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    private async Task TrackAsync(ValueTask<MessageId> send, int index, SemaphoreSlim window)
    {
        try
        {
            await send.ConfigureAwait(false);
            Interlocked.Increment(ref _receipts);
            Interlocked.Increment(ref _perProducer[index]);
        }
        catch (Exception e) when (e is TieredClientException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _errors);
            _lastError = e.Message;
        }
        finally
        {
            window.Release();
        }
    }

    /// <summary>Waits until every producer publishes again: each got receipts in two half-seconds in a row.</summary>
    private async Task WaitForFlowAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        var good = 0;
        while (good < 2)
        {
            var before = Enumerable.Range(0, _perProducer.Length).Select(i => Interlocked.Read(ref _perProducer[i])).ToArray();
            await Task.Delay(500);
            good = Enumerable.Range(0, before.Length).All(i => Interlocked.Read(ref _perProducer[i]) > before[i]) ? good + 1 : 0;
            if (Stopwatch.GetElapsedTime(started) > timeout)
                throw new TimeoutException($"Some producers got no receipts for {timeout.TotalSeconds:F0} s (send errors {_errors}, last: {_lastError ?? "none"}).");
        }
    }
}
