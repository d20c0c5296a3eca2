using static System.FormattableString;

namespace Tiered.Bench.Compare;

/// <summary>The comparison as Markdown: the header with the disk's limits, one table with a column per system, and CPU per message.</summary>
public sealed class CompareReport(CompareOptions options, MachineFacts machine, string dataDir, string fileSystem, DiskLimits disk, IReadOnlyList<SystemResults> systems)
{
    public void Write(TextWriter output)
    {
        ReportHeader.Write(output, options.CommandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine("Each system ran alone (started, measured, stopped before the next), server and benchmark client sharing the machine's cores; "
            + "one publisher, no client batching unless said. Latency: publish call → the server's acknowledgement (publish ack / confirm / receipt).");
        output.WriteLine();
        output.WriteLine("| | " + string.Join(" | ", systems.Select(s => s.Name)) + " |");
        output.WriteLine("|---|" + string.Concat(systems.Select(_ => "---|")));
        Row(output, "version", s => s.Version);
        Row(output, "durability (ack vs fsync)", s => s.Durability);
        Row(output, Invariant($"1) 100 B, {CompareOptions.Window:N0} in flight: msg/s"), s => Rate(s.Small));
        Row(output, "1) publish-ack p50 / p99 / p99.9 ms", s => Percentiles(s.Small));
        Row(output, Invariant($"2) 100 B, {CompareOptions.SmallWindow} in flight: msg/s"), s => Rate(s.SmallWindow));
        Row(output, "2) publish-ack p50 / p99 / p99.9 ms", s => Percentiles(s.SmallWindow));
        Row(output, "3) 1 KB, best durable configuration", s => s.BestConfiguration);
        Row(output, "3) msg/s, MB/s, p99 ms", s => s.Large is { } r ? Invariant($"{r.MessagesPerSecond:N0}, {r.MBPerSecond:N1} MB/s, p99 {r.Ms(99):F1}") : "–");
        Row(output, Invariant($"4) fan-out, 1 KB to {CompareOptions.FanOutSubscriptions} subscriptions: delivered msg/s (all consumers)"), s => Delivery(s.FanOut));
        Row(output, "5) catch-up, 1 KB: one new consumer from the first: msg/s", s => Delivery(s.CatchUp));
        Row(output, "5) filling the backlog (1 KB, best): msg/s", s => Rate(s.CatchUp?.Publish));
        output.WriteLine();
        output.WriteLine("CPU (cores busy, server / benchmark client; machine busy %) and server CPU per message:");
        output.WriteLine();
        foreach (var s in systems)
        {
            output.WriteLine(Invariant($"- {s.Name}: ")
                + string.Join("; ", new[]
                {
                    Cpu("1", s.Small?.Cpu, s.Small?.Messages, s.Small?.Elapsed),
                    Cpu("2", s.SmallWindow?.Cpu, s.SmallWindow?.Messages, s.SmallWindow?.Elapsed),
                    Cpu("3", s.Large?.Cpu, s.Large?.Messages, s.Large?.Elapsed),
                    Cpu("4", s.FanOut?.Cpu, s.FanOut?.Delivered, s.FanOut?.Elapsed),
                    Cpu("5", s.CatchUp?.Cpu, s.CatchUp?.Delivered, s.CatchUp?.Elapsed),
                }.Where(t => t.Length > 0)));
        }
        var errors = systems.Where(s => s.Errors > 0).ToList();
        if (errors.Count > 0)
        {
            output.WriteLine();
            foreach (var s in errors)
                output.WriteLine(Invariant($"Errors in {s.Name}: {s.Errors} (publish errors, or deliveries incomplete at the deadline). ")
                    + (s.Small?.FirstError ?? s.SmallWindow?.FirstError ?? s.Large?.FirstError ?? s.FanOut?.Publish?.FirstError ?? s.CatchUp?.Publish?.FirstError ?? ""));
        }
        output.WriteLine();
    }

    private void Row(TextWriter output, string label, Func<SystemResults, string> cell) =>
        output.WriteLine($"| {label} | " + string.Join(" | ", systems.Select(cell)) + " |");

    private static string Rate(PublishResult? r) => r is null ? "–" : Invariant($"{r.MessagesPerSecond:N0}");

    private static string Percentiles(PublishResult? r) => r is null ? "–" : Invariant($"{r.Ms(50):F1} / {r.Ms(99):F1} / {r.Ms(99.9):F1}");

    private static string Delivery(DeliveryResult? r) => r switch
    {
        null => "–",
        { Complete: false } => Invariant($"incomplete: {r.Delivered:N0} of {r.Expected:N0} in {r.Elapsed.TotalSeconds:F0} s"),
        _ => Invariant($"{r.MessagesPerSecond:N0}"),
    };

    private static string Cpu(string workload, CpuUsage? cpu, long? messages, TimeSpan? elapsed)
    {
        if (cpu is null || messages is not > 0 || elapsed is null)
            return "";
        var server = cpu.ServerCores.Count > 0 ? cpu.ServerCores[0] : double.NaN;
        var microsPerMessage = server * elapsed.Value.TotalSeconds * 1e6 / messages.Value;
        return Invariant($"{workload}) {server:F2} / {cpu.BenchCores:F2} cores, {cpu.MachineBusyPercent:F0} % busy, {microsPerMessage:F0} µs server CPU/msg");
    }
}
