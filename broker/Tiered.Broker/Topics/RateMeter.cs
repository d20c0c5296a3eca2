namespace Tiered.Broker.Topics;

/// <summary>Per-second rates of a topic's counters over the time since the previous sample (at least one second).</summary>
public sealed class RateMeter(Topic topic, TimeProvider time)
{
    private readonly object _lock = new();
    private long _at = time.GetTimestamp();
    private (long MessagesIn, long BytesIn, long MessagesOut, long BytesOut) _counters;
    private Rates _last;

    public readonly record struct Rates(double MessagesIn, double BytesIn, double MessagesOut, double BytesOut);

    public Rates Sample()
    {
        lock (_lock)
        {
            var elapsed = time.GetElapsedTime(_at).TotalSeconds;
            if (elapsed < 1)
                return _last;
            var now = (Interlocked.Read(ref topic.MessagesIn), Interlocked.Read(ref topic.BytesIn),
                topic.Subscriptions.Sum(s => Interlocked.Read(ref s.MessagesOut)), topic.Subscriptions.Sum(s => Interlocked.Read(ref s.BytesOut)));
            _last = new Rates((now.Item1 - _counters.MessagesIn) / elapsed, (now.Item2 - _counters.BytesIn) / elapsed,
                Math.Max(0, now.Item3 - _counters.MessagesOut) / elapsed, Math.Max(0, now.Item4 - _counters.BytesOut) / elapsed);
            (_counters, _at) = (now, time.GetTimestamp());
            return _last;
        }
    }
}
