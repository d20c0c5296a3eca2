using static System.FormattableString;

namespace Tiered.Bench;

/// <summary>
/// The Markdown report of the replication benchmark: disk limits, then per phase the publish rate in cluster a and
/// the arrival rate in cluster b over the same window, the publish → delivery lag, what a's replicator reported, every
/// message's fate (lost, duplicated), the CPU of each side, and the issue's aims, met or not.
/// </summary>
public sealed class ReplicationReport(
    ReplicationBenchOptions options,
    MachineFacts machine,
    string dataDir,
    string fileSystem,
    DiskLimits disk,
    ReplicationPhaseResult throughput,
    ReplicationPhaseResult lag)
{
    /// <summary>"Keeps up": b's arrival rate over the window at least this share of a's publish rate …</summary>
    private const double KeptUpShare = 0.95;

    /// <summary>… and b's last message at most this long after a's last receipt.</summary>
    private static readonly TimeSpan KeptUpTail = TimeSpan.FromSeconds(1);

    /// <summary>The issue's aim for the lag at half load on loopback.</summary>
    private const double AimLagP99Ms = 50;

    public void Write(TextWriter output)
    {
        ReportHeader.Write(output, options.CommandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine("Two `tiered standalone` processes (each its own metadata service, bookie and broker; every entry fsynced before it is acknowledged) "
            + "on loopback as clusters a and b, each registering the other and replicating "
            + $"`{ReplicationBenchOptions.Namespace}` to both (docs/geo-replication.md), driven by the .NET client (`Tiered.Client`) in the benchmark process. "
            + Invariant($"In each phase one producer in a (batching on, {BrokerBenchOptions.InFlight:N0} sends in flight) publishes 1 KB messages to a new topic ")
            + Invariant($"and one consumer in b (Exclusive, from the earliest message, receiver queue {options.ReceiverQueue:N0}, acknowledging in lists of 100) receives what a's replicator forwards; ")
            + Invariant($"the producer runs {options.Warmup.TotalSeconds:0.#} s (warm-up, not reported) and then the measured {options.Duration.TotalSeconds:0.#} s window on the same topic. ")
            + "The throughput phase sends as fast as the window allows; the lag phase is paced at "
            + (options.LagRate is null ? "half the throughput phase's publish rate. " : "the rate given. ")
            + "Publish and arrival rates count a's receipts and b's deliveries within the same window; MB/s counts payload bytes (10^6). "
            + "Lag runs from `SendAsync` in a to b's consumer application receiving the message (one clock: both clients are in this process); "
            + "it includes the producer's batching, a's store, the replicator's send, b's store and b's dispatch. "
            + "Every message a receipted (warm-up and drain included) is checked to arrive in b once.");
        output.WriteLine();
        WriteRates(output);
        WriteLatencies(output);
        WriteReplicator(output);
        WriteMessages(output);
        WriteCpu(output);
        WriteAims(output);
    }

    private IEnumerable<(string Name, ReplicationPhaseResult Result)> Phases() =>
        [("throughput (as fast as it goes)", throughput), (Invariant($"lag (paced at {lag.Setup.RatePerSecond:N0} msg/s)"), lag)];

    private void WriteRates(TextWriter output)
    {
        output.WriteLine("| phase | a: publish msg/s | a: MB/s | b: arrival msg/s | b: MB/s | b ÷ a | b's last message after a's last receipt | % of disk MB/s (a and b each store it) |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, r) in Phases())
        {
            output.WriteLine(Invariant(
                $"| {name} | {r.PublishedPerSecond:N0} | {r.PublishedMBPerSecond:N1} | {r.ArrivedPerSecond:N0} | {r.ArrivedMBPerSecond:N1} | {r.ArrivedPerSecond / r.PublishedPerSecond:F2}× | ")
                + Invariant($"{Tail(r)} | {100 * (r.PublishedMBPerSecond + r.ArrivedMBPerSecond) / disk.SequentialMBPerSecond:F1} |"));
        }
        output.WriteLine();
    }

    private static string Tail(ReplicationPhaseResult r) => r.LastArrivalAfterLastReceipt is { } tail ? Invariant($"{tail.TotalMilliseconds:N0} ms") : "n/a";

    private void WriteLatencies(TextWriter output)
    {
        output.WriteLine("Latencies of the messages sent in the window (ms):");
        output.WriteLine();
        output.WriteLine("| phase | publish p50 (a's receipt) | publish p99 | lag p50 (a → b's consumer) | lag p99 | lag p99.9 | lag max | lag samples |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, r) in Phases())
        {
            output.WriteLine(Invariant(
                $"| {name} | {PublishPhaseResult.Ms(r.PublishMicros, 50):F2} | {PublishPhaseResult.Ms(r.PublishMicros, 99):F2} | ")
                + Invariant($"{PublishPhaseResult.Ms(r.LagMicros, 50):F2} | {PublishPhaseResult.Ms(r.LagMicros, 99):F2} | {PublishPhaseResult.Ms(r.LagMicros, 99.9):F2} | ")
                + Invariant($"{PublishPhaseResult.MaxMs(r.LagMicros):F2} | {r.LagMicros.TotalCount:N0} |"));
        }
        output.WriteLine();
    }

    private static void WriteReplicator(TextWriter output, string name, ReplicationPhaseResult r)
    {
        var (start, end) = (r.WindowStart, r.WindowEnd);
        output.WriteLine(Invariant(
            $"| {name} | {r.ReplicatedPerSecond:N0} | {(end is null ? "n/a" : Invariant($"{end.MsgRateOut:N0}"))} | {(start is null ? "n/a" : Invariant($"{start.Backlog:N0}"))} | ")
            + Invariant($"{r.PeakBacklog:N0} | {(end is null ? "n/a" : Invariant($"{end.Backlog:N0}"))} | {r.PeakDelaySeconds:F1} | ")
            + Invariant($"{(end is null ? "n/a" : end.Connected ? "yes" : "**no**")} | {(r.Drained ? "yes" : "**no**")} | {end?.LastError ?? ""} |"));
    }

    private void WriteReplicator(TextWriter output)
    {
        output.WriteLine("a's replicator to b, from a's topic stats (`replication.b`, sampled every second in the window; the backlog counts entries, i.e. batches):");
        output.WriteLine();
        output.WriteLine("| phase | out msg/s (msgOutCounter over the window) | msgRateOut (last sample) | backlog at start | peak backlog | backlog at end | peak delay s | connected | backlog 0 after the drain | lastError |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|---|---|");
        foreach (var (name, r) in Phases())
            WriteReplicator(output, name, r);
        output.WriteLine();
    }

    private void WriteMessages(TextWriter output)
    {
        output.WriteLine("Every message once (all of each phase's messages, warm-up and drain included):");
        output.WriteLine();
        output.WriteLine("| phase | receipted in a | lost (not in b) | duplicated in b | in b without a receipt | errors |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, r) in Phases())
            output.WriteLine(Invariant($"| {name} | {r.Receipted:N0} | {r.Lost:N0} | {r.Duplicates:N0} | {r.Unconfirmed:N0} | {r.Errors:N0} |"));
        output.WriteLine();
        foreach (var (name, r) in Phases().Where(p => p.Result.FirstError is not null))
            output.WriteLine($"- {name}: {r.Errors} errors, first: {r.FirstError}");
    }

    private void WriteCpu(TextWriter output)
    {
        output.WriteLine("CPU in the window (cores = CPU seconds per second):");
        output.WriteLine();
        output.WriteLine("| phase | standalone a | standalone b | benchmark (both clients) | everything else | machine busy |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (var (name, r) in Phases())
        {
            var cpu = r.Cpu;
            var servers = cpu.ServerCores.Sum();
            var others = Math.Max(0, cpu.MachineBusyPercent / 100 * machine.Processors - cpu.BenchCores - servers);
            output.WriteLine(Invariant($"| {name} | {cpu.ServerCores[0]:F2} | {cpu.ServerCores[1]:F2} | {cpu.BenchCores:F2} | {others:F2} | {cpu.MachineBusyPercent:F0} % |"));
        }
        output.WriteLine();
    }

    private void WriteAims(TextWriter output)
    {
        var ratio = throughput.ArrivedPerSecond / throughput.PublishedPerSecond;
        var tailOk = throughput.LastArrivalAfterLastReceipt is { } tail && tail <= KeptUpTail;
        var keptUp = ratio >= KeptUpShare && tailOk;
        var lagP99 = PublishPhaseResult.Ms(lag.LagMicros, 99);
        var once = Phases().All(p => p.Result.Lost == 0 && p.Result.Duplicates == 0);
        output.WriteLine("Aims:");
        output.WriteLine();
        output.WriteLine("| aim | measured | |");
        output.WriteLine("|---|---|---|");
        output.WriteLine(Invariant(
            $"| replication keeps up with one producer's full local publish rate (b's arrivals ≥ {100 * KeptUpShare:0} % of a's publishes over the window, b's last message ≤ {KeptUpTail.TotalSeconds:0} s after a's last receipt) | ")
            + Invariant($"b ÷ a = {ratio:F2}×, last message {Tail(throughput)} after | {(keptUp ? "met" : "**NOT met**")} |"));
        output.WriteLine(Invariant($"| lag p99 under {AimLagP99Ms:0} ms at half load on loopback | p99 {lagP99:F2} ms at {lag.Setup.RatePerSecond:N0} msg/s | {(lagP99 < AimLagP99Ms ? "met" : "**NOT met**")} |"));
        output.WriteLine(Invariant($"| every receipted message arrives in b once | lost {throughput.Lost + lag.Lost:N0}, duplicated {throughput.Duplicates + lag.Duplicates:N0} | {(once ? "met" : "**NOT met**")} |"));
        output.WriteLine();
    }
}
