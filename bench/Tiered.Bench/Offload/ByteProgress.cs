using System.Diagnostics;
using System.Globalization;

namespace Tiered.Bench.Offload;

/// <summary>
/// A progress line on stderr every second while a phase of known size runs: MB done of the total
/// and the rate so far. Any thread adds bytes; <see cref="DisposeAsync"/> ends the line.
/// </summary>
public sealed class ByteProgress : IProgress<long>, IAsyncDisposable
{
    private readonly string _label;
    private readonly long _totalBytes;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _done;

    public ByteProgress(string label, long totalBytes)
    {
        (_label, _totalBytes) = (label, totalBytes);
        _loop = RunAsync();
    }

    public long Done => Interlocked.Read(ref _done);

    public void Report(long value) => Interlocked.Add(ref _done, value);

    private async Task RunAsync()
    {
        var overwrite = !Console.IsErrorRedirected;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"  [{_label}] {seconds,4:F0} s  {Done / 1e6,7:N0} / {_totalBytes / 1e6:N0} MB  {Done / 1e6 / seconds,6:N1} MB/s so far");
                Console.Error.Write(overwrite ? $"\r{line}   " : line + Environment.NewLine);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        if (overwrite)
            Console.Error.WriteLine();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
