using static System.FormattableString;

namespace Tiered.Bench.Offload;

/// <summary>
/// The Markdown report of a tiered-storage benchmark run: disk limits, offload throughput and
/// object size, catch-up reads from the bookies and from the objects, single-entry read latency,
/// the issue's aims, and the CPU of every phase.
/// </summary>
public sealed class OffloadReport(
    OffloadBenchOptions options,
    MachineFacts machine,
    string dataDir,
    string fileSystem,
    DiskLimits disk,
    OffloadResults results)
{
    public void Write(TextWriter output)
    {
        ReportHeader.Write(output, options.CommandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine(Invariant($"A `tiered metadata` node and one `tiered bookie` (journal fsync on) as processes; managed ledgers with E=Qw=Qa=1 ")
            + Invariant($"and the offloader (`TieredStorage`, default options: Snappy, row groups of ~8 MiB, 64 MiB row-group cache, 2 row groups read ahead) in the benchmark process, ")
            + Invariant($"reading the bookie over gRPC on loopback. Entries: one `MessageBatch` of {OffloadBenchOptions.MessagesPerEntry} messages × {OffloadBenchOptions.PayloadBytes} B ")
            + Invariant($"{(options.Payload == PayloadKind.Random ? "random" : "JSON-like text")} payload, a key and a property each = {results.EntryBytes:N0} B; ")
            + Invariant($"ledgers of {results.EntriesPerLedger:N0} entries ({results.EntriesPerLedger * results.EntryBytes / 1e6:N0} MB). ")
            + "MB = 10^6 bytes of ledger data (entries as the bookie stores them). s3rver is the npm S3 server (Node.js, one process) storing files in the data directory.");
        output.WriteLine();
        output.WriteLine("| phase | ledgers | entries | ledger MB | s | MB/s | objects | object MB | object / ledger | CPU s per GB (benchmark process) |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results.Fills.Concat(results.Offloads).Concat(results.CatchUps))
        {
            var objects = r.Objects > 0 ? Invariant($"{r.Objects} | {r.ObjectBytes / 1e6:N0} | {(double)r.ObjectBytes / r.Bytes:F3}") : " | | ";
            output.WriteLine(Invariant($"| {r.Name} | {r.Ledgers} | {r.Entries:N0} | {r.Bytes / 1e6:N0} | {r.Elapsed.TotalSeconds:F1} | {r.MBPerSecond:N1} | {objects} | {r.BenchCpuSecondsPerGB:F1} |"));
        }
        output.WriteLine();
        if (results.Diagnostics.Count > 0)
        {
            output.WriteLine("The parts alone, after the phases above: the Parquet format on one thread (one ledger's worth of the same entries; median of 5 passes), "
                + "the offloader itself (`TieredStorage.OffloadLedgerAsync`: spool, upload, verification) on the same entries from memory, without the bookie, "
                + "and each store's GET and PUT of one offloaded object through Tiered's store client (the offload reads every object back whole to verify it):");
            output.WriteLine();
            output.WriteLine("| part | MB | s | MB/s | benchmark process cores | s3rver cores |");
            output.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (var r in results.Diagnostics)
                output.WriteLine(Invariant($"| {r.Name} | {r.Bytes / 1e6:N0} | {r.Elapsed.TotalSeconds:F2} | {r.MBPerSecond:N0} | {r.Cpu.BenchCores:F2} | {r.ServerCores("s3rver"):F2} |"));
            output.WriteLine();
        }
        output.WriteLine(Invariant($"Catch-up reads `ReadEntriesAsync(position, {options.ReadBatch})` in a loop on a new managed ledger instance with its entry cache off; ")
            + "from the objects after the bookie copies were deleted, through a new `TieredStorage` (empty caches), "
            + "after an untimed read of the first 5,000 entries of each store (about 50 row groups, so the decoding loops are compiled at full optimization, as in a broker that has been running). "
            + "Row groups fetched: " + string.Join(", ", results.CatchUps.Where(c => c.Store != "bookies").Select(c => Invariant($"{c.Store} {c.RowGroupsFetched:N0}"))) + ".");
        output.WriteLine();
        output.WriteLine("Reading one offloaded entry (`ReadEntriesAsync(position, 1)`), ms:");
        output.WriteLine();
        output.WriteLine("| store | read | samples | p50 | p99 | max | row groups fetched |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var l in results.Latencies)
            output.WriteLine(Invariant($"| {l.Store} | {l.Kind} | {l.SortedMs.Count:N0} | {l.Percentile(50):F3} | {l.Percentile(99):F3} | {l.MaxMs:F3} | {l.Fetches:N0} |"));
        output.WriteLine();
        output.WriteLine("Cold: a new `TieredStorage` and managed ledger instance per sample, one random entry of a random offloaded ledger "
            + "(its row group and the object's footer fetched; a single-entry read fetches nothing ahead; the store client "
            + "is warmed by one LIST first). The filesystem store's objects are in the OS page cache (written minutes before), so its cold "
            + "reads measure Tiered's path, not the disk. Cached: entries at and just after the last cold one, after one untimed pass: "
            + "their row groups are in the cache. \"cold, read-ahead 0\": the same with a tiered storage set to fetch no row group ahead "
            + "(before single-entry reads stopped reading ahead, this showed what the read-ahead cost them).");
        output.WriteLine();
        output.WriteLine("Aims (issue 6):");
        output.WriteLine();
        foreach (var line in AimLines())
            output.WriteLine($"- {line}");
        output.WriteLine();
        output.WriteLine("CPU during each phase (cores = CPU seconds per second):");
        output.WriteLine();
        foreach (var r in results.Fills.Concat(results.Offloads).Concat(results.CatchUps).Concat(results.Diagnostics))
        {
            var servers = string.Join(", ", r.ServerNames.Select((name, i) => Invariant($"{name} {r.Cpu.ServerCores[i]:F2}")));
            var others = Math.Max(0, r.Cpu.MachineBusyPercent / 100 * machine.Processors - r.Cpu.BenchCores - r.Cpu.ServerCores.Sum());
            output.WriteLine(Invariant($"- {r.Name}: machine {r.Cpu.MachineBusyPercent:F0} % busy of {machine.Processors} cores; ")
                + Invariant($"benchmark process (managed ledger, offloader) {r.Cpu.BenchCores:F2}, {servers}, everything else {others:F2} cores")
                + (r.Gc is { } gc ? Invariant($"; benchmark process GCs gen0/1/2 {gc.Gen0}/{gc.Gen1}/{gc.Gen2}, paused {gc.Paused.TotalMilliseconds:N0} ms, allocated {gc.AllocatedMB:N0} MB") : ""));
        }
    }

    private IEnumerable<string> AimLines()
    {
        foreach (var r in results.Offloads)
        {
            yield return Invariant($"offload to {r.Store}: {r.MBPerSecond:N1} MB/s = {r.MBPerSecond / OffloadBenchOptions.AimOffloadMBPerSecond:F2}× the {OffloadBenchOptions.AimOffloadMBPerSecond:N0} MB/s aim: ")
                + (r.MBPerSecond >= OffloadBenchOptions.AimOffloadMBPerSecond ? "met" : "**NOT met**")
                + Invariant($" (the disk writes {disk.SequentialMBPerSecond:N0} MB/s by itself).");
        }
        var bookies = results.CatchUps.FirstOrDefault(c => c.Store == "bookies");
        if (bookies is null)
            yield break;
        foreach (var r in results.CatchUps.Where(c => c.Store != "bookies"))
        {
            var share = r.MBPerSecond / bookies.MBPerSecond;
            yield return Invariant($"catch-up from {r.Store}: {r.MBPerSecond:N1} MB/s = {share:F2}× catch-up from the bookie ({bookies.MBPerSecond:N1} MB/s), aim ≥ {OffloadBenchOptions.AimCatchUpShare:F1}×: ")
                + (share >= OffloadBenchOptions.AimCatchUpShare ? "met" : "**NOT met**") + ".";
        }
    }
}
