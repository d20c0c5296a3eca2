using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Tiered.Ledger;

/// <summary>
/// The ledger client's instruments, on the meter <see cref="MeterName"/>: add latency, ensemble
/// changes and the bookies this process keeps out of new ensembles (docs/observability.md).
/// One instance per process (a DI singleton); a component given none makes its own.
/// </summary>
public sealed class Instrumentation : IDisposable
{
    public const string MeterName = "Tiered.Ledger";

    /// <summary>Bucket bounds (seconds) for latencies from a fraction of a millisecond to seconds.</summary>
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

    private readonly ConcurrentDictionary<BookieQuarantine, byte> _quarantines = new();
    private readonly bool _ownsMeter;

    public Instrumentation(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        AddLatency = Meter.CreateHistogram("tiered_ledger_add_latency", "s",
            "Time from sending an entry to the bookies to its confirmation by the ack quorum (Qa)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        EnsembleChanges = Meter.CreateCounter<long>("tiered_ledger_ensemble_changes", null,
            "Bookies replaced in the ensemble of a ledger being written, after a failure");
        Meter.CreateObservableGauge("tiered_ledger_bookies_quarantined", ObserveQuarantined, null,
            "Bookies this client keeps out of new ensembles after a failure (BookKeeper's quarantine)");
    }

    public Meter Meter { get; }

    /// <summary>Seconds from sending an add to its quorum confirmation.</summary>
    public Histogram<double> AddLatency { get; }

    public Counter<long> EnsembleChanges { get; }

    internal void Track(BookieQuarantine quarantine) => _quarantines.TryAdd(quarantine, 0);

    internal void Untrack(BookieQuarantine quarantine) => _quarantines.TryRemove(quarantine, out _);

    private int ObserveQuarantined()
    {
        var count = 0;
        foreach (var quarantine in _quarantines.Keys)
            count += quarantine.Count;
        return count;
    }

    /// <summary>Disposes the meter if this instance created it; a factory's meters are the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
            Meter.Dispose();
    }
}
