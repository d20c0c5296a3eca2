using System.Diagnostics;
using System.Globalization;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Client;
using Tiered.Testing;
using static System.FormattableString;
using static Tiered.Bench.Cluster.ClusterRun;

namespace Tiered.Bench.Cluster;

/// <summary>
/// Failover after kill -9 of a topic's owner: a steady producer publishes; the owner is found (every
/// broker's Lookup answer), killed with SIGKILL, and the time is taken from the kill to the receipt
/// of the first message sent after it. The surviving brokers' logs give when one of them took the
/// bundle over (event BundleTakenOver) and when Orleans declared the killed broker dead, to tell
/// the server's part from the client's. The killed broker is started again, and each trial waits
/// until it is ready (an active member) before the next.
/// </summary>
public sealed class FailoverPhase(BrokerCluster cluster, ClusterBenchOptions options)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var ns = await cluster.CreateNamespaceAsync("failover", 4);
        var topic = $"persistent://{ns}/steady";
        var bundle = NamespaceBundles.Even(ns, 4).Find(TopicName.Parse(topic));
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = cluster.AllServiceUrls });
        await using var producer = await SteadyProducer.StartAsync(client, topic, options.SteadyRate);
        var rows = new List<string>();
        var failovers = new List<double>();
        var takeovers = new List<double>();
        var deaths = new List<double>();
        for (var trial = 1; trial <= options.FailoverTrials; trial++)
        {
            await producer.WaitForReceiptAfterAsync(Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(60), $"before kill {trial}");
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var victim = await cluster.OwnerAsync(topic);
            var victimId = cluster.BrokerId(victim);
            var survivors = Enumerable.Range(0, cluster.BrokerCount).Where(b => b != victim && cluster.IsRunning(b)).ToArray();
            var logOffsets = survivors.ToDictionary(b => b, b => cluster.Broker(b)!.Output.Length);

            // SIGKILL straight away (kill(2)): Process.Kill(entireProcessTree: true) first walks /proc
            // for children, and the broker keeps acknowledging meanwhile (see KillTreeMs).
            var killedWall = DateTime.Now;
            var killedAt = Stopwatch.GetTimestamp();
            if (SigKill(cluster.Broker(victim)!.Pid) != 0)
                throw new InvalidOperationException($"kill -9 of broker {victim + 1} failed.");
            cluster.KillBroker(victim); // waits until it is gone
            var resumed = await producer.WaitForReceiptAfterAsync(killedAt, TimeSpan.FromSeconds(90), $"after kill {trial} of broker {victim + 1}");
            var failover = Ms(killedAt, resumed);
            var lastBefore = producer.ReceiptsBetween(killedAt - 5 * Stopwatch.Frequency, killedAt).DefaultIfEmpty(killedAt).Max();
            var around = producer.ReceiptsBetween(lastBefore, resumed);
            var gap = around.Zip(around.Skip(1), (a, b) => Ms(a, b)).DefaultIfEmpty(double.NaN).Max();
            // Let the survivors' log lines arrive (they are read from the processes' stdout).
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            var newOwner = await cluster.OwnerAsync(topic);
            var logs = survivors.Select(b => (Broker: b, Text: cluster.Broker(b)!.Output[logOffsets[b]..])).ToList();
            var takeover = logs.SelectMany(l => Lines(l.Text).Where(x => x.Text.Contains($"Took bundle {bundle} over from {victimId}", StringComparison.Ordinal))
                .Select(x => (l.Broker, x.At))).OrderBy(x => x.At).FirstOrDefault();
            var death = logs.SelectMany(l => Lines(l.Text).Where(x => IsDeathDeclaration(x.Text)).Select(x => x.At)).DefaultIfEmpty().Min();
            if (death == default && trial <= 3)
                Console.Error.WriteLine($"no death line found; survivors' logs after the kill:\n{string.Join("\n", logs.Select(l => l.Text))}");
            var takeoverMs = takeover.At == default ? double.NaN : (takeover.At - killedWall).TotalMilliseconds;
            var deathMs = death == default ? double.NaN : (death - killedWall).TotalMilliseconds;
            failovers.Add(failover);
            if (!double.IsNaN(takeoverMs))
                takeovers.Add(takeoverMs);
            if (!double.IsNaN(deathMs))
                deaths.Add(deathMs);
            rows.Add(Invariant($"| {trial} | broker {victim + 1} | {Ms(lastBefore, killedAt):F0} ms | {Show(deathMs)} | {Show(takeoverMs)} | {failover:F0} ms | {gap:F0} ms | broker {newOwner + 1} |"));
            Progress(Invariant($"failover {trial}: killed broker {victim + 1}; declared dead +{Show(deathMs)}, taken over +{Show(takeoverMs)} (by broker {takeover.Broker + 1}), first receipt of a message sent after the kill +{failover:F0} ms; new owner broker {newOwner + 1}"));
            if (trial == 1)
            {
                foreach (var (b, text) in logs)
                    Console.Error.WriteLine($"--- broker {b + 1} after the kill ---\n{string.Join('\n', text.Split('\n').Take(40))}");
            }

            await cluster.StartBrokerAsync(victim);
            await cluster.WaitReadyAsync(victim, TimeSpan.FromSeconds(90));
        }

        await producer.DisposeAsync();
        var controls = await ControlTrialsAsync(client, topic, cancellationToken);
        failovers.Sort();
        takeovers.Sort();
        deaths.Sort();
        Console.WriteLine("### Failover after kill -9 of the owner");
        Console.WriteLine();
        Console.WriteLine(Invariant($"One producer publishing {options.SteadyRate:F0} msg/s (100 B, unbatched) to one topic; its owner (as every broker's Lookup answers) is killed with SIGKILL; ")
            + Invariant($"{options.FailoverTrials} trials, the killed broker started again (and ready) before the next. ")
            + "The kill is kill(2) with SIGKILL. Failover: from the kill to the receipt of the first message handed to `SendAsync` after the kill; longest receipt gap: between two consecutive receipts around it. "
            + "Declared dead and taken over: the first survivor log line saying so (Orleans' membership, and event BundleTakenOver \"Took bundle … over from …\"), relative to the kill (log times have 1 ms resolution).");
        Console.WriteLine();
        Console.WriteLine("| trial | killed | last receipt before the kill | declared dead | taken over | failover (client) | longest receipt gap | new owner |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        rows.ForEach(Console.WriteLine);
        Console.WriteLine(Invariant($"| **min / median / max** | | | {Summary(deaths)} | {Summary(takeovers)} | {Summary(failovers)} | | |"));
        Console.WriteLine();
        var tree = KillTreeMs();
        Console.WriteLine(Invariant($"`Process.Kill(entireProcessTree: true)` (what the tests' `TieredProcess.Kill` uses) on a `sleep` child, 5 times in this run: {tree.Min():F0}–{tree.Max():F0} ms before it returned; the SIGKILL comes after the walk over /proc that finds the children."));
        Console.WriteLine();
        Console.WriteLine(Invariant($"Control trials, with a producer publishing as the cluster test's does (unbatched, 10 in flight, the next sent when a receipt comes), its owner killed the way the test does (`BrokerCluster.KillBroker`, i.e. `Process.Kill(entireProcessTree: true)`), timed from before the call as the test does. ")
            + "\"11th receipt\" is what the test's `ResumedAfter` reports (the first receipt after more than 10, its in-flight window, came after the kill); \"sent after the call, receipted before it returned\" are messages the victim still acknowledged although they were sent after the kill began.");
        Console.WriteLine();
        Console.WriteLine("| control | Kill() call took | sent after the call, receipted before it returned | 11th receipt after the call | first receipt of a message sent after Kill() returned |");
        Console.WriteLine("|---|---|---|---|---|");
        controls.ForEach(Console.WriteLine);
        Console.WriteLine();
        if (producer.Errors > 0)
        {
            Console.WriteLine(Invariant($"Send errors: {producer.Errors} (last: {producer.LastError})."));
            Console.WriteLine();
        }
    }

    /// <summary>Kills the owner as the cluster test does (see the report's control table); the victim is started again after each.</summary>
    private async Task<List<string>> ControlTrialsAsync(TieredClient client, string topic, CancellationToken cancellationToken)
    {
        await using var producer = await SteadyProducer.StartWindowedAsync(client, topic, inFlight: 10);
        var rows = new List<string>();
        for (var trial = 1; trial <= 3; trial++)
        {
            await producer.WaitForReceiptAfterAsync(Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(60), $"before control kill {trial}");
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var victim = await cluster.OwnerAsync(topic);
            var called = Stopwatch.GetTimestamp();
            cluster.KillBroker(victim);
            var returned = Stopwatch.GetTimestamp();
            var resumed = await producer.WaitForReceiptAfterAsync(returned, TimeSpan.FromSeconds(90), $"after control kill {trial}");
            var receipts = producer.Receipts();
            var lateAcks = receipts.Count(r => r.SentAt >= called && r.ReceivedAt <= returned);
            var after = receipts.Where(r => r.ReceivedAt >= called).Select(r => r.ReceivedAt).Order().ToList();
            var eleventh = after.Count > 10 ? Invariant($"{Ms(called, after[10]):F0} ms") : "—";
            rows.Add(Invariant($"| {trial} | {Ms(called, returned):F0} ms | {lateAcks} | {eleventh} | {Ms(called, resumed):F0} ms |"));
            Progress(Invariant($"control {trial}: Kill() {Ms(called, returned):F0} ms, {lateAcks} messages sent after the call receipted before it returned; 11th receipt +{eleventh}; real failover +{Ms(called, resumed):F0} ms"));
            await cluster.StartBrokerAsync(victim);
            await cluster.WaitReadyAsync(victim, TimeSpan.FromSeconds(90));
        }
        return rows;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SigKill(int pid, int signal);

    private static int SigKill(int pid) => SigKill(pid, 9);

    /// <summary>How long <see cref="Process.Kill(bool)"/> with the process tree takes on this machine now, on 5 `sleep` children.</summary>
    private static List<double> KillTreeMs()
    {
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            using var sleep = Process.Start("sleep", "60");
            var started = Stopwatch.GetTimestamp();
            sleep.Kill(entireProcessTree: true);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            sleep.WaitForExit();
        }
        return times;
    }

    private static string Show(double ms) => double.IsNaN(ms) ? "not logged" : Invariant($"{ms:F0} ms");

    private static string Summary(List<double> sorted)
        => sorted.Count == 0 ? "—" : Invariant($"{sorted[0]:F0} / {Percentile(sorted, 50):F0} / {sorted[^1]:F0} ms");

    /// <summary>Orleans' membership line saying a silo was declared dead (by this silo or read from the table).</summary>
    private static bool IsDeathDeclaration(string line)
        => line.Contains("Evicting '", StringComparison.Ordinal) || line.Contains("entered status Dead", StringComparison.Ordinal);

    /// <summary>Log lines with their time (the console logger's "HH:mm:ss.fff " prefix, local time, today).</summary>
    private static IEnumerable<(DateTime At, string Text)> Lines(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            if (line.Length > 13 && DateTime.TryParseExact(line[..12], "HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var at))
                yield return (DateTime.Today + at.TimeOfDay, line);
        }
    }
}
