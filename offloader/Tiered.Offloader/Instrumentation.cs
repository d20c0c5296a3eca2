using System.Diagnostics.Metrics;

namespace Tiered.Offloader;

/// <summary>
/// Tiered storage's instruments, on the meter <see cref="MeterName"/>: bytes offloaded and read
/// back, offload durations and failures (docs/observability.md). One instance per process (a DI
/// singleton); a <see cref="TieredStorage"/> given none makes its own.
/// </summary>
public sealed class Instrumentation : IDisposable
{
    public const string MeterName = "Tiered.Offloader";

    /// <summary>Bucket bounds (seconds) for offloads of one ledger: from a fraction of a second to many minutes.</summary>
    private static readonly double[] DurationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

    private readonly bool _ownsMeter;

    public Instrumentation(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        OffloadedBytes = Meter.CreateCounter<long>("tiered_offload_bytes", "By",
            "Entry bytes of ledgers written to object stores by completed offloads");
        OffloadDuration = Meter.CreateHistogram("tiered_offload_duration", "s",
            "Time to offload one ledger: read from the bookies, write, upload and verify its objects",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        OffloadFailures = Meter.CreateCounter<long>("tiered_offload_failures", null,
            "Offloads of a ledger that failed (they are retried later)");
        ReadBytes = Meter.CreateCounter<long>("tiered_offload_read_bytes", "By",
            "Bytes read back from object stores (row groups and footers) to serve reads of offloaded ledgers");
    }

    public Meter Meter { get; }

    public Counter<long> OffloadedBytes { get; }

    public Histogram<double> OffloadDuration { get; }

    public Counter<long> OffloadFailures { get; }

    public Counter<long> ReadBytes { get; }

    /// <summary>Disposes the meter if this instance created it; a factory's meters are the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
            Meter.Dispose();
    }
}
