using System.Diagnostics;

namespace Tiered.Bench;

/// <summary>Paced sending for the benchmarks' fixed-rate phases.</summary>
internal static class Pacing
{
    /// <summary>
    /// Calls <paramref name="send"/> (with each send's index) at <paramref name="rate"/> per second from
    /// <paramref name="started"/> until <paramref name="stopAt"/> (Stopwatch timestamps), each after taking a slot of
    /// <paramref name="window"/> (the send gives it back). Meant for a thread of its own: it paces with
    /// <see cref="Thread.Sleep(int)"/>, which keeps 1 ms on this VM where .NET timers (Task.Delay) fire only every
    /// ~4 ms, so sends go out in bursts of about a millisecond's worth.
    /// </summary>
    public static void Run(double rate, long started, long stopAt, SemaphoreSlim window, Action<long> send, CancellationToken cancellationToken)
    {
        long sent = 0;
        while (Stopwatch.GetTimestamp() < stopAt && !cancellationToken.IsCancellationRequested)
        {
            var due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * rate) - sent;
            if (due <= 0)
            {
                Thread.Sleep(1);
                continue;
            }
            for (var i = 0; i < due; i++)
            {
                window.Wait(cancellationToken);
                send(sent + i);
            }
            sent += due;
        }
    }
}
