using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using Tiered.Metadata;

namespace Tiered.Bench;

/// <summary>The outcome of one measured phase: concurrent writers doing unconditional puts for a fixed time.</summary>
public sealed record PhaseResult(
    string Setup,
    int Writers,
    long Ops,
    TimeSpan Elapsed,
    HistogramBase LatencyMicros,
    IReadOnlyDictionary<MetadataErrorCode, long> Errors,
    string? FirstError,
    CpuUsage Cpu)
{
    public double OpsPerSecond => Ops / Elapsed.TotalSeconds;

    public long ErrorCount => Errors.Values.Sum();

    public double PercentileMs(double percentile) => LatencyMicros.TotalCount == 0 ? double.NaN : LatencyMicros.GetValueAtPercentile(percentile) / 1000.0;

    public double MeanMs => LatencyMicros.TotalCount == 0 ? double.NaN : LatencyMicros.GetMean() / 1000.0;

    public double MaxMs => LatencyMicros.TotalCount == 0 ? double.NaN : LatencyMicros.GetMaxValue() / 1000.0;
}

/// <summary>
/// Writers that each put <c>/bench/w{writer}/k{i % 1000}</c> in a loop, one put in flight per
/// writer, timing every put into a per-writer histogram (microseconds) that is merged at the end.
/// Failed puts (<see cref="MetadataException"/>) are counted by code, not timed.
/// </summary>
public sealed class PutWorkload
{
    private const int KeysPerWriter = 1000;
    private const long HighestMicros = 60_000_000;

    private readonly IMetadataStore _store;
    private readonly ReadOnlyMemory<byte> _value;
    private readonly IReadOnlyList<int> _serverPids;
    private long _completed;
    private long _failed;

    public PutWorkload(IMetadataStore store, int valueSize, IReadOnlyList<int> serverPids)
    {
        var value = new byte[valueSize];
        Random.Shared.NextBytes(value);
        (_store, _value, _serverPids) = (store, value, serverPids);
    }

    /// <summary>Runs <paramref name="writers"/> writers for <paramref name="duration"/>, printing progress to stderr every second.</summary>
    public async Task<PhaseResult> RunAsync(string setup, string phase, int writers, TimeSpan duration, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _completed, 0);
        Interlocked.Exchange(ref _failed, 0);
        var cpu = CpuMeter.Start(_serverPids);
        var started = Stopwatch.GetTimestamp();
        var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = new Task<WriterResult>[writers];
        for (var w = 0; w < writers; w++)
        {
            var writer = w;
            tasks[w] = Task.Run(() => WriteAsync(writer, stopAt, cancellationToken), CancellationToken.None);
        }
        using var progressStop = new CancellationTokenSource();
        var progress = ReportProgressAsync($"{setup}, {phase}, {writers} writer{(writers == 1 ? "" : "s")}", started, duration, progressStop.Token);
        WriterResult[] results;
        TimeSpan elapsed;
        CpuUsage usage;
        try
        {
            results = await Task.WhenAll(tasks);
            elapsed = Stopwatch.GetElapsedTime(started);
            usage = cpu.Stop();
        }
        finally
        {
            await progressStop.CancelAsync();
            await progress;
        }

        var merged = new LongHistogram(HighestMicros, 3);
        var errors = new Dictionary<MetadataErrorCode, long>();
        string? firstError = null;
        foreach (var result in results)
        {
            merged.Add(result.Latency);
            foreach (var (code, count) in result.Errors)
                errors[code] = errors.GetValueOrDefault(code) + count;
            firstError ??= result.FirstError;
        }
        return new PhaseResult(setup, writers, merged.TotalCount, elapsed, merged, errors, firstError, usage);
    }

    private async Task<WriterResult> WriteAsync(int writer, long stopAt, CancellationToken cancellationToken)
    {
        var keys = new string[KeysPerWriter];
        for (var k = 0; k < keys.Length; k++)
            keys[k] = string.Create(CultureInfo.InvariantCulture, $"/bench/w{writer}/k{k}");
        var latency = new LongHistogram(HighestMicros, 3);
        var errors = new Dictionary<MetadataErrorCode, long>();
        string? firstError = null;
        for (var i = 0; Stopwatch.GetTimestamp() < stopAt && !cancellationToken.IsCancellationRequested; i++)
        {
            var before = Stopwatch.GetTimestamp();
            try
            {
                await _store.PutAsync(keys[i % KeysPerWriter], _value, cancellationToken: CancellationToken.None);
                var micros = (Stopwatch.GetTimestamp() - before) * 1_000_000 / Stopwatch.Frequency;
                latency.RecordValue(Math.Clamp(micros, 1, HighestMicros));
                Interlocked.Increment(ref _completed);
            }
            catch (MetadataException e)
            {
                errors[e.Code] = errors.GetValueOrDefault(e.Code) + 1;
                firstError ??= $"{e.Code}: {e.Message}";
                Interlocked.Increment(ref _failed);
            }
        }
        return new WriterResult(latency, errors, firstError);
    }

    private async Task ReportProgressAsync(string label, long started, TimeSpan duration, CancellationToken stop)
    {
        var overwrite = !Console.IsErrorRedirected;
        long lastCompleted = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var completed = Interlocked.Read(ref _completed);
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"  [{label}] {seconds,4:F0}/{duration.TotalSeconds:F0} s  {completed / seconds,9:N0} ops/s so far  (last second {completed - lastCompleted:N0})  errors {Interlocked.Read(ref _failed)}");
                Console.Error.Write(overwrite ? $"\r{line}   " : line + Environment.NewLine);
                lastCompleted = completed;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        if (overwrite)
            Console.Error.WriteLine();
    }

    private sealed record WriterResult(LongHistogram Latency, Dictionary<MetadataErrorCode, long> Errors, string? FirstError);
}
