using System.Diagnostics;
using System.Globalization;

namespace Tiered.Bench;

/// <summary>A progress line on stderr every second while a phase runs: the rate so far and in the last second.</summary>
public static class PhaseProgress
{
    /// <param name="count">What has been done so far (adds, messages); read once a second.</param>
    /// <param name="unit">What is counted, e.g. "adds" or "msg".</param>
    public static async Task ReportAsync(string label, TimeSpan duration, Func<long> count, string unit, CancellationToken stop)
    {
        var overwrite = !Console.IsErrorRedirected;
        var started = Stopwatch.GetTimestamp();
        long last = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var done = count();
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"  [{label}] {seconds,4:F0}/{duration.TotalSeconds:F0} s  {done / seconds,9:N0} {unit}/s so far  (last second {done - last:N0})");
                Console.Error.Write(overwrite ? $"\r{line}   " : line + Environment.NewLine);
                last = done;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        if (overwrite)
            Console.Error.WriteLine();
    }
}
