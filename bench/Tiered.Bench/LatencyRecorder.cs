using HdrHistogram;

namespace Tiered.Bench;

/// <summary>
/// Messages, bytes and latencies (in microseconds) that any thread records into; the histogram of
/// everything recorded is taken once at the end of a phase.
/// </summary>
public sealed class LatencyRecorder
{
    /// <summary>Latencies above a minute are recorded as a minute.</summary>
    public const long HighestMicros = 60_000_000;

    private readonly Recorder _recorder = HistogramFactory.With64BitBucketSize()
        .WithValuesFrom(1)
        .WithValuesUpTo(HighestMicros)
        .WithPrecisionOf(3)
        .WithThreadSafeWrites()
        .WithThreadSafeReads()
        .Create();

    private long _messages;
    private long _bytes;
    private long _errors;
    private string? _firstError;

    public long Messages => Interlocked.Read(ref _messages);

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstError => Volatile.Read(ref _firstError);

    public void Record(long latencyMicros, int bytes)
    {
        _recorder.RecordValue(Math.Clamp(latencyMicros, 1, HighestMicros));
        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _bytes, bytes);
    }

    /// <summary>Records a latency without counting a message (a second latency of a message already counted).</summary>
    public void RecordLatencyOnly(long latencyMicros) => _recorder.RecordValue(Math.Clamp(latencyMicros, 1, HighestMicros));

    public void Error(Exception error)
    {
        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, error.Message, null);
    }

    /// <summary>Everything recorded since the start (or the last call).</summary>
    public HistogramBase TakeHistogram() => _recorder.GetIntervalHistogram();
}
