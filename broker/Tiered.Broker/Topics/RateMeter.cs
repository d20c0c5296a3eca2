namespace Tiered.Broker.Topics;

/// <summary>Values of monotonic counters at one moment: messages, bytes and messages redelivered.</summary>
public readonly record struct RateCounters(long Messages, long Bytes, long Redelivered = 0);

/// <summary>Per-second rates of <see cref="RateCounters"/>.</summary>
public readonly record struct Rates(double Messages, double Bytes, double Redelivered)
{
    /// <summary>Bytes per message over the same period; 0 when no message moved.</summary>
    public double AverageMessageSize => Messages > 0 ? Bytes / Messages : 0;
}

/// <summary>
/// Per-second rates of one object's counters (a topic's, a producer's, a subscription's or a
/// consumer's) over the time since the previous sample, at least one second: a sample taken
/// sooner answers the previous rates again, so callers polling stats often do not see noise.
/// A counter that went down (its source removed) counts as no movement.
/// </summary>
public sealed class RateMeter(TimeProvider time)
{
    private readonly Lock _lock = new();
    private long _at = time.GetTimestamp();
    private RateCounters _counters;
    private Rates _last;

    public Rates Sample(RateCounters now)
    {
        lock (_lock)
        {
            var elapsed = time.GetElapsedTime(_at).TotalSeconds;
            if (elapsed < 1)
                return _last;
            _last = new Rates(Math.Max(0, now.Messages - _counters.Messages) / elapsed, Math.Max(0, now.Bytes - _counters.Bytes) / elapsed,
                Math.Max(0, now.Redelivered - _counters.Redelivered) / elapsed);
            (_counters, _at) = (now, time.GetTimestamp());
            return _last;
        }
    }
}
