using static System.FormattableString;

namespace Tiered.Bench;

/// <summary>
/// The Markdown report of a broker benchmark run: disk limits, the publish and backlog tables with every
/// figure also as a ratio to the disk's limits, memory, CPU per phase, and at the end the issue's aims, met or not.
/// </summary>
public sealed class BrokerReport(
    BrokerBenchOptions options,
    MachineFacts machine,
    string dataDir,
    string fileSystem,
    DiskLimits disk,
    BrokerResults results)
{
    private const double AimShareOfSequential = 0.60;
    private const double AimBatchedP99Ms = 10;
    private const double AimUnbatchedPerSecond = 100_000;
    private const double AimPacedP99Ms = 3;
    private const double AimCatchUpMultiple = 2;
    private const double AimIdleMB = 150;

    public void Write(TextWriter output)
    {
        ReportHeader.Write(output, options.CommandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine("`tiered standalone` (metadata, one bookie and the broker in one child process; every entry fsynced before it is acknowledged) "
            + "on loopback, driven by the .NET client (`Tiered.Client`) in the benchmark process; both share the machine's cores. "
            + Invariant($"Each publish phase runs {options.Duration.TotalSeconds:0.#} s on a new topic, each producer keeps {BrokerBenchOptions.InFlight:N0} sends in flight, ")
            + Invariant($"and one consumer (Exclusive, receiver queue {options.ReceiverQueue:N0}, acknowledging in lists of 100) receives at the same time. ")
            + "Publish latency runs from `SendAsync` to its receipt; "
            + "e2e from the message's publish_time (whole milliseconds, stamped when the client seals the batch) to the consumer application; "
            + "send→receive from `SendAsync` to the consumer application. MB/s counts payload bytes (10^6).");
        output.WriteLine();
        WritePublish(output);
        WriteBacklog(output);
        WriteMemory(output);
        WriteCpu(output);
        WriteAims(output);
    }

    private void WritePublish(TextWriter output)
    {
        if (results.Publish.Count == 0)
            return;
        output.WriteLine("| phase | msg/s | MB/s | % of disk MB/s | publish p50 ms | p99 ms | p99.9 ms | max ms | e2e p50 ms | e2e p99 ms | e2e p99.9 ms | consumed msg/s | errors |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results.Publish)
        {
            var (p, e) = (r.PublishMicros, r.PublishTimeToReceiveMicros);
            output.WriteLine(Invariant(
                $"| {r.Setup.Name} | {r.MessagesPerSecond:N0} | {r.MBPerSecond:N1} | {100 * r.MBPerSecond / disk.SequentialMBPerSecond:F1} | ")
                + Invariant($"{PublishPhaseResult.Ms(p, 50):F2} | {PublishPhaseResult.Ms(p, 99):F2} | {PublishPhaseResult.Ms(p, 99.9):F2} | {PublishPhaseResult.MaxMs(p):F2} | ")
                + Invariant($"{PublishPhaseResult.Ms(e, 50):F2} | {PublishPhaseResult.Ms(e, 99):F2} | {PublishPhaseResult.Ms(e, 99.9):F2} | {r.ReceivedPerSecond:N0} | {r.Errors} |"));
        }
        output.WriteLine();
        output.WriteLine("Entries (batches) as the consumer saw them, against the disk's fsync rate, and send→receive latency:");
        output.WriteLine();
        output.WriteLine("| phase | entries/s | msg per entry | entries/s ÷ disk fsync/s | msg/s ÷ disk fsync/s | send→receive p50 ms | p99 ms | p99.9 ms |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results.Publish)
        {
            var s = r.SendToReceiveMicros;
            output.WriteLine(Invariant(
                $"| {r.Setup.Name} | {r.EntriesPerSecond:N0} | {r.MessagesPerEntry:F1} | {r.EntriesPerSecond / disk.FsyncPerSecond:F2} | {r.MessagesPerSecond / disk.FsyncPerSecond:F1} | ")
                + Invariant($"{PublishPhaseResult.Ms(s, 50):F2} | {PublishPhaseResult.Ms(s, 99):F2} | {PublishPhaseResult.Ms(s, 99.9):F2} |"));
        }
        output.WriteLine();
        foreach (var r in results.Publish.Where(r => r.FirstError is not null))
            output.WriteLine($"- {r.Setup.Name}: {r.Errors} errors, first: {r.FirstError}");
    }

    private void WriteBacklog(TextWriter output)
    {
        if (results.Backlog is not { } b)
            return;
        output.WriteLine(Invariant($"Backlog: a durable subscription created first, then {b.Messages:N0} × {PublishSetup.SizeName(b.MessageSize)} ({b.Bytes / 1e6:N0} MB) ")
            + Invariant($"published by {b.Producers} batching producers with no consumer connected, then one consumer joins and receives them all:"));
        output.WriteLine();
        output.WriteLine("| backlog | fill msg/s | fill MB/s | catch-up msg/s | catch-up MB/s | catch-up ÷ fill | % of disk MB/s | first message after | errors |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        output.WriteLine(Invariant($"| {b.Bytes / 1e6:N0} MB | {b.FillMessagesPerSecond:N0} | {b.FillMBPerSecond:N1} | {b.ConsumeMessagesPerSecond:N0} | {b.ConsumeMBPerSecond:N1} | ")
            + Invariant($"{b.ConsumeMessagesPerSecond / b.FillMessagesPerSecond:F2}× | {100 * b.ConsumeMBPerSecond / disk.SequentialMBPerSecond:F1} | {b.FirstMessageAfter.TotalMilliseconds:F0} ms | {b.Errors} |"));
        output.WriteLine();
        if (b.FirstError is not null)
            output.WriteLine($"- backlog: {b.Errors} errors, first: {b.FirstError}");
    }

    private void WriteMemory(TextWriter output)
    {
        if (results.IdleMemory is null && results.AfterMemory is null)
            return;
        output.WriteLine(Invariant($"Standalone resident memory (VmRSS of the child process, {options.Idle.TotalSeconds:0} s idle):"));
        output.WriteLine();
        if (results.IdleMemory is { } idle)
            output.WriteLine(Invariant($"- after start: {idle.ResidentMB:N0} MB ({idle.AnonymousMB:N0} MB anonymous, {idle.FileMB:N0} MB mapped files; peak so far {idle.PeakResidentMB:N0} MB)"));
        if (results.AfterMemory is { } after)
            output.WriteLine(Invariant($"- after the benchmark: {after.ResidentMB:N0} MB ({after.AnonymousMB:N0} MB anonymous, {after.FileMB:N0} MB mapped files; peak during the run, VmHWM, {after.PeakResidentMB:N0} MB)"));
        output.WriteLine();
    }

    private void WriteCpu(TextWriter output)
    {
        output.WriteLine("CPU during each phase (cores = CPU seconds per second):");
        output.WriteLine();
        foreach (var r in results.Publish)
            output.WriteLine($"- {r.Setup.Name}: {CpuLine(r.Cpu)}");
        if (results.Backlog is { } b)
        {
            output.WriteLine($"- backlog, publishing: {CpuLine(b.FillCpu)}");
            output.WriteLine($"- backlog, catching up: {CpuLine(b.ConsumeCpu)}");
        }
        output.WriteLine();
    }

    private string CpuLine(CpuUsage cpu)
    {
        var standalone = cpu.ServerCores.Sum();
        var others = Math.Max(0, cpu.MachineBusyPercent / 100 * machine.Processors - cpu.BenchCores - standalone);
        return Invariant($"machine {cpu.MachineBusyPercent:F0} % busy of {machine.Processors} cores; standalone {standalone:F2} cores, ")
            + Invariant($"benchmark client {cpu.BenchCores:F2} cores, everything else {others:F2} cores");
    }

    private void WriteAims(TextWriter output)
    {
        output.WriteLine("Aims (issue 4):");
        output.WriteLine();
        output.WriteLine("| aim | measured | |");
        output.WriteLine("|---|---|---|");
        foreach (var (aim, measured, met) in Aims())
            output.WriteLine($"| {aim} | {measured} | {(met is null ? "not run" : met.Value ? "met" : "**NOT met**")} |");
        output.WriteLine();
    }

    private IEnumerable<(string Aim, string Measured, bool? Met)> Aims()
    {
        var bandwidthAim = AimShareOfSequential * disk.SequentialMBPerSecond;
        foreach (var r in results.Publish.Where(r => r.Setup is { Batching: true, RatePerSecond: null }))
        {
            yield return (Invariant($"{r.Setup.Name}: ≥ 60 % of the disk's {disk.SequentialMBPerSecond:N0} MB/s = {bandwidthAim:N0} MB/s"),
                Invariant($"{r.MBPerSecond:N1} MB/s = {100 * r.MBPerSecond / disk.SequentialMBPerSecond:F1} %"), r.MBPerSecond >= bandwidthAim);
            var p99 = PublishPhaseResult.Ms(r.PublishMicros, 99);
            yield return (Invariant($"{r.Setup.Name}: publish p99 < {AimBatchedP99Ms:0} ms"), Invariant($"{p99:F2} ms"), p99 < AimBatchedP99Ms);
        }
        var unbatched = results.Publish.FirstOrDefault(r => r.Setup is { Batching: false });
        yield return unbatched is null
            ? ("100 B unbatched, 1,000 in flight: > 100,000 msg/s", "", null)
            : (Invariant($"{unbatched.Setup.Name}, {unbatched.Setup.MaxPending:N0} in flight: > {AimUnbatchedPerSecond:N0} msg/s"),
                Invariant($"{unbatched.MessagesPerSecond:N0} msg/s (publish p99 {PublishPhaseResult.Ms(unbatched.PublishMicros, 99):F2} ms)"),
                unbatched.MessagesPerSecond > AimUnbatchedPerSecond);
        var paced = results.Publish.FirstOrDefault(r => r.Setup.RatePerSecond is not null);
        yield return paced is null
            ? ("1 KB, 1 producer, half its maximum rate: publish p99 ≤ 3 ms", "", null)
            : (Invariant($"{paced.Setup.Name} ({options.PacedPercent} % of the 1-producer maximum): publish p99 ≤ {AimPacedP99Ms:0} ms"),
                Invariant($"{PublishPhaseResult.Ms(paced.PublishMicros, 99):F2} ms ({paced.MessagesPerSecond:N0} msg/s achieved; p50 {PublishPhaseResult.Ms(paced.PublishMicros, 50):F2} ms)"),
                options.PacedPercent == 50 ? PublishPhaseResult.Ms(paced.PublishMicros, 99) <= AimPacedP99Ms : null);
        if (results.Backlog is { } b)
        {
            var fastest = results.Publish.Where(r => r.Setup is { Batching: true, RatePerSecond: null, MessageSize: BrokerBenchOptions.LargeMessage })
                .Select(r => r.MessagesPerSecond).DefaultIfEmpty(0).Max();
            var reference = Math.Max(fastest, b.FillMessagesPerSecond);
            yield return (Invariant($"backlog catch-up ≥ {AimCatchUpMultiple:0}× the publish rate (the higher of the backlog fill rate and the best batched 1 KB rate: {reference:N0} msg/s)"),
                Invariant($"{b.ConsumeMessagesPerSecond:N0} msg/s = {b.ConsumeMessagesPerSecond / reference:F2}× ({b.ConsumeMessagesPerSecond / b.FillMessagesPerSecond:F2}× the fill rate)"),
                b.ConsumeMessagesPerSecond >= AimCatchUpMultiple * reference);
        }
        else
        {
            yield return ("backlog catch-up ≥ 2× the publish rate", "", null);
        }
        foreach (var (when, memory) in new[] { ("after start", results.IdleMemory), ("after the benchmark", results.AfterMemory) })
        {
            yield return memory is null
                ? (Invariant($"idle standalone VmRSS {when} < {AimIdleMB:0} MB"), "", null)
                : (Invariant($"idle standalone VmRSS {when} < {AimIdleMB:0} MB"), Invariant($"{memory.ResidentMB:N0} MB"), memory.ResidentMB < AimIdleMB);
        }
    }
}
