namespace Tiered.Client.Sessions;

/// <summary>
/// How long a session waits before its next attempt: exponential backoff with decorrelated jitter, capped. Each wait
/// is drawn at random between the initial backoff and three times the previous wait, never above the maximum, so
/// that clients cut off by the same broker restart do not all come back at the same instant, and the waits still
/// grow while failures go on. <see cref="Reset"/> after a success starts again from the initial backoff.
/// Not thread-safe: one per session loop.
/// </summary>
internal sealed class Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly Random _random;
    private TimeSpan _previous;

    public Backoff(TimeSpan initial, TimeSpan max, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, initial);
        (_initial, _max, _random, _previous) = (initial, max, random, initial);
    }

    public TimeSpan Next()
    {
        var upper = _previous.Ticks > _max.Ticks / 3 ? _max : _previous * 3;
        var next = _initial + (upper - _initial) * _random.NextDouble();
        _previous = next < _initial ? _initial : next;
        return _previous;
    }

    public void Reset() => _previous = _initial;
}
