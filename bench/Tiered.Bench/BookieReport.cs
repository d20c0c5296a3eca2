using System.Globalization;
using static System.FormattableString;

namespace Tiered.Bench;

/// <summary>
/// The Markdown report of a bookie benchmark run: disk limits, the results table, how close one
/// bookie comes to the issue's aims, and CPU use per phase.
/// </summary>
public sealed class BookieReport(
    BookieBenchOptions options,
    MachineFacts machine,
    string dataDir,
    string fileSystem,
    DiskLimits disk,
    IReadOnlyList<AddPhaseResult> results)
{
    private const double AimEntriesPerSecond = 100_000;
    private const double AimShareOfSequential = 0.70;
    private const double AimFsyncMultiple = 3;
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public void Write(TextWriter output)
    {
        ReportHeader.Write(output, options.CommandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine(Invariant($"Pipelined adds over one gRPC `AddEntries` stream per bookie, {options.InFlight} entries in flight, confirmed in entry order; ")
            + Invariant($"{options.Duration.TotalSeconds:0.#} s per phase after a {options.Warmup.TotalSeconds:0.#} s warm-up. ")
            + "Latency is from handing an entry to the streams to its in-order confirmation. MB/s counts payload bytes once (10^6 bytes), "
            + "however many bookies store them. Half load is paced at half the full-load rate (sends released every ~1 ms).");
        output.WriteLine();
        output.WriteLine("| setup | entry | load | adds/s | MB/s | p50 ms | p99 ms | p99.9 ms | max ms | errors |");
        output.WriteLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var load = r.Load == "half" ? Invariant($"half ({r.TargetPerSecond:N0}/s)") : Invariant($"full ({r.InFlight} in flight)");
            output.WriteLine(Invariant(
                $"| {r.Setup} | {SizeName(r.EntrySize)} | {load} | {r.EntriesPerSecond:N0} | {r.MBPerSecond:N1} | {r.PercentileMs(50):F2} | {r.PercentileMs(99):F2} | {r.PercentileMs(99.9):F2} | {r.MaxMs:F2} | {r.Errors} |"));
        }
        output.WriteLine();
        output.WriteLine("Aims (issue 3):");
        output.WriteLine();
        foreach (var line in AimLines())
            output.WriteLine($"- {line}");
        output.WriteLine();
        output.WriteLine("CPU during each phase (cores = CPU seconds per second):");
        output.WriteLine();
        foreach (var r in results)
        {
            var bookies = string.Join(" + ", r.Cpu.ServerCores.Select(c => c.ToString("F2", Culture)));
            var others = Math.Max(0, r.Cpu.MachineBusyPercent / 100 * machine.Processors - r.Cpu.BenchCores - r.Cpu.ServerCores.Sum());
            output.WriteLine(Invariant($"- {r.Setup}, {SizeName(r.EntrySize)}, {r.Load} load: machine {r.Cpu.MachineBusyPercent:F0} % busy of {machine.Processors} cores; ")
                + Invariant($"benchmark client {r.Cpu.BenchCores:F2} cores, bookie(s) {bookies} cores, everything else {others:F2} cores"));
        }
    }

    private static string SizeName(int bytes) => bytes == BookieBenchOptions.AimEntrySize ? "1 KB" : Invariant($"{bytes} B");

    private IEnumerable<string> AimLines()
    {
        var single = results.FirstOrDefault(r => r.Bookies == 1 && r.EntrySize == BookieBenchOptions.AimEntrySize && r.Load == "full");
        var half = results.FirstOrDefault(r => r.Bookies == 1 && r.EntrySize == BookieBenchOptions.AimEntrySize && r.Load == "half");
        if (single is null)
        {
            yield return "Not checked: the aims are about one bookie with 1 KB (1024-byte) entries, which this run did not include.";
            yield break;
        }

        var bandwidthAim = AimShareOfSequential * disk.SequentialMBPerSecond;
        var bandwidthAimEntries = bandwidthAim * 1e6 / BookieBenchOptions.AimEntrySize;
        var target = Math.Min(AimEntriesPerSecond, bandwidthAimEntries);
        var targetName = target == AimEntriesPerSecond
            ? Invariant($"{AimEntriesPerSecond:N0} adds/s (70 % of the disk, {bandwidthAim:N0} MB/s, would be {bandwidthAimEntries:N0} adds/s, so 100k comes first)")
            : Invariant($"70 % of the disk's sequential bandwidth, {bandwidthAim:N0} MB/s = {bandwidthAimEntries:N0} adds/s (it comes before 100k)");
        yield return Invariant($"1 bookie, 1 KB: {single.EntriesPerSecond:N0} adds/s = {100 * single.EntriesPerSecond / AimEntriesPerSecond:F1} % of the 100k target; ")
            + Invariant($"{single.MBPerSecond:N1} MB/s = {100 * single.MBPerSecond / disk.SequentialMBPerSecond:F0} % of the disk's sequential bandwidth ({disk.SequentialMBPerSecond:N0} MB/s). ")
            + Invariant($"Throughput aim, whichever comes first: {targetName}: {(single.EntriesPerSecond >= target ? "met" : "NOT met")} ({100 * single.EntriesPerSecond / target:F1} % of it). ")
            + Invariant($"The bookie writes each entry twice (journal, then entry log), so its disk takes about {2 * single.MBPerSecond:N0} MB/s.");

        var fsyncBound = AimFsyncMultiple * disk.MeanFsyncMs;
        if (half is null)
        {
            yield return "Latency aim not checked: the half-load phase did not run.";
        }
        else
        {
            var p99 = half.PercentileMs(99);
            yield return Invariant($"1 bookie, 1 KB, p99 at half load ({half.EntriesPerSecond:N0} adds/s achieved of {half.TargetPerSecond:N0}/s paced): {p99:F2} ms ")
                + Invariant($"vs 3 × mean fsync {fsyncBound:F2} ms: {(p99 <= fsyncBound ? "met" : "NOT met")} ({p99 / disk.MeanFsyncMs:F1}× one fsync; p50 {half.PercentileMs(50):F2} ms).");
        }

        foreach (var r in results.Where(r => r.Bookies > 1 && r.EntrySize == BookieBenchOptions.AimEntrySize && r.Load == "full"))
        {
            yield return Invariant($"{r.Setup}, 1 KB: {r.EntriesPerSecond:N0} adds/s = {100 * r.EntriesPerSecond / single.EntriesPerSecond:F0} % of one bookie; ")
                + Invariant($"every entry goes to 2 bookies, each writing it to its journal and its entry log, all on this one disk: about {4 * r.MBPerSecond:N0} MB/s = {100 * 4 * r.MBPerSecond / disk.SequentialMBPerSecond:F0} % of its sequential bandwidth.");
        }
    }
}
