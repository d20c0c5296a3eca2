using HdrHistogram;

namespace Tiered.Bench;

/// <summary>One measured publish phase of the broker benchmark.</summary>
/// <param name="Published">Messages receipted while the producers were sending (the drain after they stopped is not counted).</param>
/// <param name="Elapsed">How long the producers were sending.</param>
/// <param name="PublishMicros">SendAsync call → receipt, every receipted message including the drain.</param>
/// <param name="Received">Messages the consumer received while the producers were sending.</param>
/// <param name="ReceivedEntries">Entries (batches) among <paramref name="Received"/>.</param>
/// <param name="PublishTimeToReceiveMicros">The message's publish_time (whole ms, set when its batch is sealed) → the consumer application gets it.</param>
/// <param name="SendToReceiveMicros">SendAsync call → the consumer application gets it.</param>
/// <param name="Errors">Sends that failed and acknowledgement requests the broker refused.</param>
public sealed record PublishPhaseResult(
    PublishSetup Setup,
    long Published,
    TimeSpan Elapsed,
    HistogramBase PublishMicros,
    long Received,
    long ReceivedEntries,
    HistogramBase PublishTimeToReceiveMicros,
    HistogramBase SendToReceiveMicros,
    long Errors,
    string? FirstError,
    CpuUsage Cpu)
{
    public double MessagesPerSecond => Published / Elapsed.TotalSeconds;

    /// <summary>Payload bytes receipted per second, in MB (10^6 bytes).</summary>
    public double MBPerSecond => Published * (double)Setup.MessageSize / 1e6 / Elapsed.TotalSeconds;

    public double ReceivedPerSecond => Received / Elapsed.TotalSeconds;

    public double EntriesPerSecond => ReceivedEntries / Elapsed.TotalSeconds;

    /// <summary>Messages per stored entry, as the consumer saw them.</summary>
    public double MessagesPerEntry => ReceivedEntries == 0 ? double.NaN : (double)Received / ReceivedEntries;

    public static double Ms(HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? double.NaN : histogram.GetValueAtPercentile(percentile) / 1000.0;

    public static double MaxMs(HistogramBase histogram) => histogram.TotalCount == 0 ? double.NaN : histogram.GetMaxValue() / 1000.0;
}
