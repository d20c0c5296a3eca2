using System.Diagnostics.Metrics;

namespace Tiered.ManagedLedgers;

/// <summary>
/// The managed ledgers' instruments, on the meter <see cref="MeterName"/>: entry cache hits and
/// misses, ledger rollovers and trims (docs/observability.md). One instance per process (a DI
/// singleton); a managed ledger given none makes its own.
/// </summary>
public sealed class Instrumentation : IDisposable
{
    public const string MeterName = "Tiered.ManagedLedgers";

    private readonly bool _ownsMeter;

    public Instrumentation(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        CacheHits = Meter.CreateCounter<long>("tiered_managed_ledger_cache_hits", null,
            "Entries read from the managed ledgers' entry cache");
        CacheMisses = Meter.CreateCounter<long>("tiered_managed_ledger_cache_misses", null,
            "Entries read from the bookies or from offloaded objects because the entry cache did not hold them");
        Rollovers = Meter.CreateCounter<long>("tiered_managed_ledger_rollovers", null,
            "Ledgers closed and replaced by a new one (full, old, or after a failed add)");
        TrimmedLedgers = Meter.CreateCounter<long>("tiered_managed_ledger_trimmed_ledgers", null,
            "Ledgers deleted by retention because every subscription had passed them");
    }

    public Meter Meter { get; }

    public Counter<long> CacheHits { get; }

    public Counter<long> CacheMisses { get; }

    public Counter<long> Rollovers { get; }

    public Counter<long> TrimmedLedgers { get; }

    /// <summary>The instance of components given none: one per process, so that they do not each create a meter.</summary>
    internal static Instrumentation Shared { get; } = new(meterFactory: null);

    /// <summary>Disposes the meter if this instance created it; a factory's meters are the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
            Meter.Dispose();
    }
}
