using System.Globalization;
using static System.FormattableString;

namespace Tiered.Bench;

/// <summary>
/// The Markdown report of a metadata benchmark run: disk limits, the results table, each result
/// as a ratio to the disk's fsync rate, the aims of the issue, CPU use and the machine.
/// </summary>
public sealed class MetadataReport(
    MetadataBenchOptions options,
    MachineFacts machine,
    string dataDir,
    string fileSystem,
    DiskLimits disk,
    IReadOnlyList<PhaseResult> results)
{
    private const double AimOpsPerSecond = 10_000;
    private const double AimP99Ms = 20;
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public void Write(TextWriter output)
    {
        ReportHeader.Write(output, options.CommandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine(Invariant($"Unconditional puts of {options.ValueSize}-byte values, each writer with one put in flight: {options.Duration.TotalSeconds:0.#} s with {options.Writers} writers, then {options.SequentialDuration.TotalSeconds:0.#} s with 1, after a {options.Warmup.TotalSeconds:0.#} s warm-up:"));
        output.WriteLine();
        output.WriteLine("| setup | writers | ops/s | p50 ms | p99 ms | p99.9 ms | max ms | errors |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            output.WriteLine(Invariant(
                $"| {r.Setup} | {r.Writers} | {r.OpsPerSecond:N0} | {r.PercentileMs(50):F2} | {r.PercentileMs(99):F2} | {r.PercentileMs(99.9):F2} | {r.MaxMs:F2} | {ErrorCell(r)} |"));
        }
        output.WriteLine();
        foreach (var r in results)
            output.WriteLine($"- {Interpretation(r)}");
        output.WriteLine();
        output.WriteLine("CPU during each phase (cores = CPU seconds per second):");
        output.WriteLine();
        foreach (var r in results)
        {
            var servers = string.Join(" + ", r.Cpu.ServerCores.Select(c => c.ToString("F2", Culture)));
            var others = Math.Max(0, r.Cpu.MachineBusyPercent / 100 * machine.Processors - r.Cpu.BenchCores - r.Cpu.ServerCores.Sum());
            output.WriteLine(Invariant($"- {r.Setup}, {r.Writers} writer{(r.Writers == 1 ? "" : "s")}: machine {r.Cpu.MachineBusyPercent:F0} % busy of {machine.Processors} cores; ")
                + Invariant($"benchmark client {r.Cpu.BenchCores:F2} cores, metadata node(s) {servers} cores, everything else {others:F2} cores"));
        }
    }

    private static string ErrorCell(PhaseResult r) =>
        r.ErrorCount == 0 ? "0" : $"{r.ErrorCount} ({string.Join(", ", r.Errors.Select(e => $"{e.Key} {e.Value}"))})";

    private string Interpretation(PhaseResult r)
    {
        if (r.Writers == 1)
        {
            return string.Create(Culture,
                $"{r.Setup}, 1 writer: one put takes {r.MeanMs:F2} ms on average = {r.MeanMs / disk.MeanFsyncMs:F1}× one disk fsync ({disk.MeanFsyncMs:F2} ms); {r.OpsPerSecond / disk.FsyncPerSecond:F2} writes per fsync-equivalent");
        }
        var throughputMet = r.OpsPerSecond >= AimOpsPerSecond;
        var p99 = r.PercentileMs(99);
        var latencyMet = p99 < AimP99Ms;
        return string.Create(Culture,
            $"{r.Setup}, {r.Writers} writers: group commit: {r.OpsPerSecond / disk.FsyncPerSecond:F1} writes per fsync-equivalent "
            + $"({r.OpsPerSecond:N0} ops/s ÷ {disk.FsyncPerSecond:N0} disk fsync/s). "
            + $"Aim ≥ {AimOpsPerSecond:N0} writes/s: {(throughputMet ? "met" : "NOT met")} ({r.OpsPerSecond:N0}); "
            + $"aim p99 < {AimP99Ms:F0} ms: {(latencyMet ? "met" : "NOT met")} ({p99:F2} ms)");
    }
}
