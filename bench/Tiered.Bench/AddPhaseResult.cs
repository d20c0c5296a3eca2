using HdrHistogram;

namespace Tiered.Bench;

/// <summary>One measured phase of the bookie benchmark: pipelined adds of one entry size to one ensemble.</summary>
/// <param name="Setup">"1 bookie" or "3 bookies (E=3, Qw=2, Qa=2)".</param>
/// <param name="Load">"full" (as fast as the in-flight window allows) or "half" (paced at <paramref name="TargetPerSecond"/>).</param>
/// <param name="Entries">Entries confirmed while the writer was sending (the drain after it stopped is not counted).</param>
/// <param name="Elapsed">How long the writer was sending.</param>
/// <param name="LatencyMicros">Hand-over to the streams → in-order confirmation, every confirmed entry including the drain.</param>
/// <param name="Errors">Adds a bookie refused (they still count as acknowledged, so the pipeline keeps moving).</param>
public sealed record AddPhaseResult(
    string Setup,
    int Bookies,
    string Load,
    int EntrySize,
    int InFlight,
    double? TargetPerSecond,
    long Entries,
    TimeSpan Elapsed,
    HistogramBase LatencyMicros,
    long Errors,
    string? FirstError,
    CpuUsage Cpu)
{
    public double EntriesPerSecond => Entries / Elapsed.TotalSeconds;

    /// <summary>Payload bytes confirmed per second, in MB (10^6 bytes), counted once however many bookies store each entry.</summary>
    public double MBPerSecond => Entries * (double)EntrySize / 1e6 / Elapsed.TotalSeconds;

    public double PercentileMs(double percentile) => LatencyMicros.TotalCount == 0 ? double.NaN : LatencyMicros.GetValueAtPercentile(percentile) / 1000.0;

    public double MeanMs => LatencyMicros.TotalCount == 0 ? double.NaN : LatencyMicros.GetMean() / 1000.0;

    public double MaxMs => LatencyMicros.TotalCount == 0 ? double.NaN : LatencyMicros.GetMaxValue() / 1000.0;
}
