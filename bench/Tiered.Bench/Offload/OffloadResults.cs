namespace Tiered.Bench.Offload;

/// <summary>A timed phase that moved bytes: how many, how long, and the CPU it took.</summary>
/// <param name="Name">What ran, e.g. "offload to filesystem" or "catch-up from bookies".</param>
/// <param name="Store">"fs", "s3" or "bookies".</param>
/// <param name="Ledgers">Ledgers written, offloaded or read.</param>
/// <param name="Entries">Entries written, offloaded or read.</param>
/// <param name="Bytes">Ledger bytes (entry payloads as the bookies store them) moved.</param>
/// <param name="Cpu">CPU of this process and of each server in <see cref="ServerNames"/> order.</param>
/// <param name="ObjectBytes">Offload only: the bytes of the Parquet objects written; else 0.</param>
/// <param name="Objects">Offload only: the objects written; else 0.</param>
/// <param name="RowGroupsFetched">Catch-up from a store only: row groups fetched by ranged GETs.</param>
/// <param name="Gc">This process's garbage collections during the phase.</param>
public sealed record ThroughputResult(
    string Name,
    string Store,
    int Ledgers,
    long Entries,
    long Bytes,
    TimeSpan Elapsed,
    CpuUsage Cpu,
    IReadOnlyList<string> ServerNames,
    long ObjectBytes = 0,
    int Objects = 0,
    long RowGroupsFetched = 0,
    GcUsage? Gc = null)
{
    public double MBPerSecond => Bytes / 1e6 / Elapsed.TotalSeconds;

    public double EntriesPerSecond => Entries / Elapsed.TotalSeconds;

    /// <summary>CPU seconds of this process per GB (10^9 bytes) moved.</summary>
    public double BenchCpuSecondsPerGB => Cpu.BenchCores * Elapsed.TotalSeconds / (Bytes / 1e9);

    public double ServerCores(string name)
    {
        var index = ServerNames.ToList().IndexOf(name);
        return index < 0 || index >= Cpu.ServerCores.Count ? double.NaN : Cpu.ServerCores[index];
    }
}

/// <summary>Latencies of reading one offloaded entry, in milliseconds, sorted.</summary>
/// <param name="Store">"fs" or "s3".</param>
/// <param name="Kind">"cold" (a new TieredStorage: no footer, no row group cached) or "cached" (its row group in the cache).</param>
/// <param name="Fetches">Row groups fetched from the store during the samples (read-ahead included).</param>
public sealed record LatencyResult(string Store, string Kind, IReadOnlyList<double> SortedMs, long Fetches)
{
    public double Percentile(double percent) =>
        SortedMs.Count == 0 ? double.NaN : SortedMs[(int)Math.Clamp(Math.Ceiling(SortedMs.Count * percent / 100) - 1, 0, SortedMs.Count - 1)];

    public double MaxMs => SortedMs.Count == 0 ? double.NaN : SortedMs[^1];
}

/// <summary>Everything one run measured, for the report.</summary>
public sealed class OffloadResults
{
    public List<ThroughputResult> Fills { get; } = [];

    public List<ThroughputResult> Offloads { get; } = [];

    public List<ThroughputResult> CatchUps { get; } = [];

    public List<LatencyResult> Latencies { get; } = [];

    /// <summary>The parts alone: Parquet encode and decode in memory on one thread, and each store's GET and PUT of one object.</summary>
    public List<ThroughputResult> Diagnostics { get; } = [];

    /// <summary>Bytes of one entry (all entries are about this size).</summary>
    public int EntryBytes { get; set; }

    public long EntriesPerLedger { get; set; }
}
