using System.Globalization;
using HdrHistogram;

namespace Tiered.Cli.Messaging;

/// <summary>
/// Counts and latencies of a perf run: an HDR recorder that any thread records into (in microseconds), a line
/// on stderr every second for the last interval, and at the end a summary and the percentile distribution of the whole run.
/// </summary>
internal sealed class PerfStats
{
    /// <summary>Latencies above a minute are recorded as a minute.</summary>
    private const long HighestMicros = 60_000_000;

    private readonly Recorder _interval = HistogramFactory.With64BitBucketSize()
        .WithValuesFrom(1)
        .WithValuesUpTo(HighestMicros)
        .WithPrecisionOf(3)
        .WithThreadSafeWrites()
        .WithThreadSafeReads()
        .Create();

    private readonly LongHistogram _total = new(HighestMicros, 3);
    private readonly Lock _totalLock = new();
    private long _messages;
    private long _bytes;
    private long _errors;
    private string? _firstError;

    public long Messages => Interlocked.Read(ref _messages);

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstError => Volatile.Read(ref _firstError);

    public void Record(long latencyMicros, int bytes)
    {
        _interval.RecordValue(Math.Clamp(latencyMicros, 1, HighestMicros));
        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _bytes, bytes);
    }

    public void Error(Exception error)
    {
        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, error.Message, null);
    }

    /// <summary>Prints "msg/s, MB/s, p50/p99/p99.9/max" of each past second on stderr until cancelled.</summary>
    public async Task ReportEverySecondAsync(string what, Func<string>? extra, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var lastMessages = 0L;
        var lastBytes = 0L;
        var last = DateTime.UtcNow;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = DateTime.UtcNow;
                var seconds = (now - last).TotalSeconds;
                last = now;
                var messages = Messages;
                var bytes = Interlocked.Read(ref _bytes);
                var interval = TakeInterval();
                Console.Error.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{what}: {(messages - lastMessages) / seconds,10:N0} msg/s {(bytes - lastBytes) / seconds / 1e6,8:F2} MB/s | latency ms p50 {Ms(interval, 50),7:F2} p99 {Ms(interval, 99),7:F2} p99.9 {Ms(interval, 99.9),7:F2} max {MaxMs(interval),7:F2} | errors {Errors}{extra?.Invoke()}"));
                lastMessages = messages;
                lastBytes = bytes;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The run's totals, rates and latency percentiles on stdout, then HdrHistogram's percentile distribution (in ms).</summary>
    public void PrintSummary(string what, string latencyName, TimeSpan elapsed)
    {
        TakeInterval();
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var messages = Messages;
        var bytes = Interlocked.Read(ref _bytes);
        lock (_totalLock)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{what}: {messages:N0} messages, {bytes / 1e6:F1} MB in {seconds:F1} s: {messages / seconds:N0} msg/s, {bytes / seconds / 1e6:F2} MB/s; errors {Errors}"));
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{latencyName} latency (ms): mean {(_total.TotalCount == 0 ? double.NaN : _total.GetMean() / 1000):F2} p50 {Ms(_total, 50):F2} p95 {Ms(_total, 95):F2} p99 {Ms(_total, 99):F2} p99.9 {Ms(_total, 99.9):F2} p99.99 {Ms(_total, 99.99):F2} max {MaxMs(_total):F2}"));
            if (_total.TotalCount > 0)
            {
                Console.WriteLine($"{latencyName} latency distribution (ms):");
                _total.OutputPercentileDistribution(Console.Out, percentileTicksPerHalfDistance: 5, outputValueUnitScalingRatio: 1000.0);
            }
        }
        if (FirstError is { } error)
            Console.Error.WriteLine($"first error: {error}");
    }

    private HistogramBase TakeInterval()
    {
        var interval = _interval.GetIntervalHistogram();
        lock (_totalLock)
            _total.Add(interval);
        return interval;
    }

    private static double Ms(HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? double.NaN : histogram.GetValueAtPercentile(percentile) / 1000.0;

    private static double MaxMs(HistogramBase histogram) => histogram.TotalCount == 0 ? double.NaN : histogram.GetMaxValue() / 1000.0;
}
