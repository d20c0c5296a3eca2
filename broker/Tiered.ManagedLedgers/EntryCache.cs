namespace Tiered.ManagedLedgers;

/// <summary>
/// Recently added entries by position, holding the adders' memory (no copy), bounded in bytes and
/// in age: tailing readers take an entry within moments of its add, so an older one only holds
/// memory (an idle topic's cache empties). The oldest go first; entries arrive in position
/// order, so a FIFO queue is the eviction order.
/// </summary>
internal sealed class EntryCache(long maxBytes, TimeSpan maxAge, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Position, ReadOnlyMemory<byte>> _entries = [];
    private readonly Queue<(Position Position, long AddedAt)> _order = new();
    private long _bytes;

    public long Bytes
    {
        get
        {
            lock (_lock)
                return _bytes;
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
                return _entries.Count;
        }
    }

    public void Put(Position position, ReadOnlyMemory<byte> data)
    {
        if (data.Length > maxBytes)
            return;
        lock (_lock)
        {
            if (!_entries.TryAdd(position, data))
                return;
            var now = time.GetTimestamp();
            _order.Enqueue((position, now));
            _bytes += data.Length;
            EvictLocked(now);
        }
    }

    /// <summary>Drops the entries older than the cache's age limit.</summary>
    public void EvictExpired()
    {
        lock (_lock)
            EvictLocked(time.GetTimestamp());
    }

    private void EvictLocked(long now)
    {
        while (_order.TryPeek(out var oldest) && (_bytes > maxBytes || time.GetElapsedTime(oldest.AddedAt, now) > maxAge))
        {
            _order.Dequeue();
            if (_entries.Remove(oldest.Position, out var evicted))
                _bytes -= evicted.Length;
        }
    }

    public bool TryGet(Position position, out ReadOnlyMemory<byte> data)
    {
        lock (_lock)
            return _entries.TryGetValue(position, out data);
    }

    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
            _order.Clear();
            _bytes = 0;
        }
    }
}
