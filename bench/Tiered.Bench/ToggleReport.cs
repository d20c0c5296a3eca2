using HdrHistogram;
using static System.FormattableString;

namespace Tiered.Bench;

/// <summary>
/// The Markdown report of an on/off benchmark (<see cref="Toggle"/>): disk limits, then per phase the figures with
/// the feature off and on (all rounds together) and on ÷ off, every run as measured (so drift and noise can be
/// seen), the spread between runs of the same setting, and the issue's aim, met or not.
/// </summary>
public sealed class ToggleReport(
    ToggleBenchOptions options,
    MachineFacts machine,
    string dataDir,
    string fileSystem,
    DiskLimits disk,
    IReadOnlyList<ToggleMeasurement> results)
{
    /// <summary>The aim of issues 14 and 15: publish throughput with the feature on within 10 % of off.</summary>
    private const double AimOnShareOfOff = 0.90;

    private Toggle Toggle => options.Toggle;

    public void Write(TextWriter output)
    {
        ReportHeader.Write(output, options.CommandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine("`tiered standalone` (metadata, one bookie and the broker in one child process; every entry fsynced before it is acknowledged) "
            + "on loopback, driven by the .NET client (`Tiered.Client`) in the benchmark process, with the broker benchmark's publish workloads. "
            + Invariant($"{options.Rounds} round{(options.Rounds == 1 ? "" : "s")} of {Toggle.Setup}, ")
            + "each a new standalone in a new data directory (inside the probed one); on each, every phase warms up "
            + Invariant($"({options.Warmup.TotalSeconds:0.#} s, another topic, not reported) and then runs {options.Duration.TotalSeconds:0.#} s on a new topic, ")
            + Invariant($"each producer keeping {BrokerBenchOptions.InFlight:N0} sends in flight while one consumer (Exclusive, receiver queue {options.ReceiverQueue:N0}) receives. ")
            + Toggle.CheckDescription + " "
            + "Publish latency runs from `SendAsync` to its receipt. MB/s counts payload bytes (10^6). "
            + "Off and on rows take all rounds together (messages ÷ seconds; latencies from the rounds' histograms merged); "
            + "standalone CPU per message is its CPU time ÷ messages published.");
        output.WriteLine();
        WriteSummary(output);
        WriteRuns(output);
        WriteSpread(output);
        WriteAims(output);
    }

    private IEnumerable<IGrouping<string, ToggleMeasurement>> ByPhase() => results.GroupBy(r => r.Result.Setup.Name);

    private void WriteSummary(TextWriter output)
    {
        output.WriteLine($"| phase | {Toggle.Feature} | msg/s | MB/s | % of disk MB/s | entries/s ÷ disk fsync/s | publish p50 ms | p99 ms | p99.9 ms | standalone CPU µs/msg | on ÷ off msg/s | errors |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var phase in ByPhase())
        {
            var off = Combined.Of(phase.Where(r => !r.On));
            var on = Combined.Of(phase.Where(r => r.On));
            output.WriteLine(Row(phase.Key, "off", off, ""));
            output.WriteLine(Row(phase.Key, "on", on, RatioCell(phase)));
        }
        output.WriteLine();

        string Row(string name, string setting, Combined c, string ratio) => Invariant(
            $"| {name} | {setting} | {c.MessagesPerSecond:N0} | {c.MBPerSecond:N1} | {100 * c.MBPerSecond / disk.SequentialMBPerSecond:F1} | {c.EntriesPerSecond / disk.FsyncPerSecond:F2} | ")
            + Invariant($"{PublishPhaseResult.Ms(c.PublishMicros, 50):F2} | {PublishPhaseResult.Ms(c.PublishMicros, 99):F2} | {PublishPhaseResult.Ms(c.PublishMicros, 99.9):F2} | ")
            + Invariant($"{c.StandaloneMicrosPerMessage:F1} | {ratio} | {c.Errors} |");
    }

    /// <summary>On ÷ off over all rounds, and each round's own (its on run ÷ its off run).</summary>
    private static string RatioCell(IEnumerable<ToggleMeasurement> phase)
    {
        var all = Combined.Of(phase.Where(r => r.On)).MessagesPerSecond / Combined.Of(phase.Where(r => !r.On)).MessagesPerSecond;
        var rounds = phase.GroupBy(r => r.Round).OrderBy(g => g.Key)
            .Select(g => (Off: g.FirstOrDefault(r => !r.On), On: g.FirstOrDefault(r => r.On)))
            .Where(p => p.Off is not null && p.On is not null)
            .Select(p => Invariant($"{p.On!.Result.MessagesPerSecond / p.Off!.Result.MessagesPerSecond:F2}×"))
            .ToList();
        return Invariant($"**{all:F2}×**") + (rounds.Count > 1 ? $" (rounds: {string.Join(", ", rounds)})" : "");
    }

    private void WriteRuns(TextWriter output)
    {
        output.WriteLine("Every run, in the order measured (cores = CPU seconds per second during the phase):");
        output.WriteLine();
        output.WriteLine($"| round | {Toggle.Feature} | phase | msg/s | MB/s | entries/s | publish p50 ms | p99 ms | standalone cores | client cores | everything else, cores | errors |");
        output.WriteLine("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in results)
        {
            var (r, cpu) = (m.Result, m.Result.Cpu);
            var standalone = cpu.ServerCores.Sum();
            var others = Math.Max(0, cpu.MachineBusyPercent / 100 * machine.Processors - cpu.BenchCores - standalone);
            output.WriteLine(Invariant(
                $"| {m.Round} | {(m.On ? "on" : "off")} | {r.Setup.Name} | {r.MessagesPerSecond:N0} | {r.MBPerSecond:N1} | {r.EntriesPerSecond:N0} | ")
                + Invariant($"{PublishPhaseResult.Ms(r.PublishMicros, 50):F2} | {PublishPhaseResult.Ms(r.PublishMicros, 99):F2} | {standalone:F2} | {cpu.BenchCores:F2} | {others:F2} | {r.Errors} |"));
        }
        output.WriteLine();
        foreach (var m in results.Where(m => m.Result.FirstError is not null))
            output.WriteLine($"- round {m.Round}, {Toggle.Feature} {(m.On ? "on" : "off")}, {m.Result.Setup.Name}: {m.Result.Errors} errors, first: {m.Result.FirstError}");
    }

    /// <summary>How far runs with the same setting differ: an on ÷ off ratio closer to 1 than this is within the run's noise.</summary>
    private void WriteSpread(TextWriter output)
    {
        if (options.Rounds < 2)
            return;
        output.WriteLine("Spread between runs with the same setting ((max − min) ÷ mean of msg/s), the noise an on ÷ off ratio is to be read against:");
        output.WriteLine();
        foreach (var phase in ByPhase())
            output.WriteLine($"- {phase.Key}: off {Spread(phase.Where(r => !r.On))}, on {Spread(phase.Where(r => r.On))}");
        output.WriteLine();

        static string Spread(IEnumerable<ToggleMeasurement> runs)
        {
            var rates = runs.Select(r => r.Result.MessagesPerSecond).ToList();
            return rates.Count < 2 ? "(one run)" : Invariant($"{100 * (rates.Max() - rates.Min()) / rates.Average():F1} %");
        }
    }

    private void WriteAims(TextWriter output)
    {
        output.WriteLine($"Aim ({Toggle.Issue}):");
        output.WriteLine();
        output.WriteLine("| aim | measured | |");
        output.WriteLine("|---|---|---|");
        foreach (var phase in ByPhase().Where(p => Toggle.Aimed(p.First().Phase)))
        {
            var ratio = Combined.Of(phase.Where(r => r.On)).MessagesPerSecond / Combined.Of(phase.Where(r => !r.On)).MessagesPerSecond;
            output.WriteLine(Invariant($"| {phase.Key}: publish msg/s with {Toggle.Feature} on within {100 * (1 - AimOnShareOfOff):0} % of off | on ÷ off = {ratio:F2}× | {(ratio >= AimOnShareOfOff ? "met" : "**NOT met**")} |"));
        }
        output.WriteLine();
    }

    /// <summary>Several runs of one phase and setting taken together.</summary>
    private sealed record Combined(double MessagesPerSecond, double MBPerSecond, double EntriesPerSecond, HistogramBase PublishMicros, double StandaloneMicrosPerMessage, long Errors)
    {
        public static Combined Of(IEnumerable<ToggleMeasurement> runs)
        {
            var list = runs.Select(r => r.Result).ToList();
            var seconds = list.Sum(r => r.Elapsed.TotalSeconds);
            var published = list.Sum(r => r.Published);
            var histogram = list[0].PublishMicros.Copy();
            foreach (var r in list.Skip(1))
                histogram.Add(r.PublishMicros);
            var standaloneSeconds = list.Sum(r => r.Cpu.ServerCores.Sum() * r.Elapsed.TotalSeconds);
            return new Combined(
                published / seconds,
                list.Sum(r => r.Published * (double)r.Setup.MessageSize) / 1e6 / seconds,
                list.Sum(r => r.ReceivedEntries) / seconds,
                histogram,
                published == 0 ? double.NaN : standaloneSeconds * 1e6 / published,
                list.Sum(r => r.Errors));
        }
    }
}
