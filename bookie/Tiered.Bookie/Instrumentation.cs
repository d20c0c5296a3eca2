using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Tiered.Bookie.Storage;

namespace Tiered.Bookie;

/// <summary>
/// The bookie's instruments, on the meter <see cref="MeterName"/>: add and read latency, the
/// journal's fsync latency and group size, the write cache's use and the ledgers stored
/// (docs/observability.md). One instance per process (a DI singleton); a component given none
/// makes its own.
/// </summary>
public sealed class Instrumentation : IDisposable
{
    public const string MeterName = "Tiered.Bookie";

    /// <summary>Bucket bounds (seconds) for latencies from a fraction of a millisecond to seconds.</summary>
    private static readonly double[] LatencyBuckets = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

    /// <summary>Bucket bounds for records per journal group commit.</summary>
    private static readonly int[] GroupBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

    private readonly ConcurrentDictionary<BookieStorage, byte> _storages = new();
    private readonly bool _ownsMeter;

    public Instrumentation(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        AddLatency = Meter.CreateHistogram("tiered_bookie_add_latency", "s",
            "Time from an add's arrival at the bookie's storage to its fsync in the journal",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        ReadLatency = Meter.CreateHistogram("tiered_bookie_read_latency", "s",
            "Time to read one entry from the write cache or the entry logs",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        JournalFsyncLatency = Meter.CreateHistogram("tiered_bookie_journal_fsync_latency", "s",
            "Time of one fsync of the journal (one group commit)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        JournalGroupRecords = Meter.CreateHistogram("tiered_bookie_journal_group_records", null,
            "Records (adds and fences) made durable by one journal group commit",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = GroupBuckets });
        Meter.CreateObservableGauge("tiered_bookie_write_cache_bytes", () => Sum(static s => s.WriteCacheBytes), "By",
            "Bytes of entries in the write cache: journaled, not yet flushed to the entry logs");
        Meter.CreateObservableGauge("tiered_bookie_ledgers", () => Sum(static s => s.LedgerCount), null,
            "Ledgers this bookie stores");
    }

    public Meter Meter { get; }

    /// <summary>Seconds from an add reaching the storage to its journal fsync.</summary>
    public Histogram<double> AddLatency { get; }

    public Histogram<double> ReadLatency { get; }

    public Histogram<double> JournalFsyncLatency { get; }

    public Histogram<int> JournalGroupRecords { get; }

    internal void Track(BookieStorage storage) => _storages.TryAdd(storage, 0);

    internal void Untrack(BookieStorage storage) => _storages.TryRemove(storage, out _);

    private long Sum(Func<BookieStorage, long> read)
    {
        long sum = 0;
        foreach (var storage in _storages.Keys)
            sum += read(storage);
        return sum;
    }

    /// <summary>Disposes the meter if this instance created it; a factory's meters are the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
            Meter.Dispose();
    }
}
