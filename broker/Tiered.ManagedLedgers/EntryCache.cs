namespace Tiered.ManagedLedgers;

/// <summary>
/// Recently added entries by position, bounded in bytes and in age: tailing readers take an entry
/// within moments of its add, so an older one only holds memory (an idle topic's cache empties).
/// The oldest go first; entries arrive in position order, so a FIFO queue is the eviction order.
/// </summary>
/// <remarks>
/// Small entries are copied into slabs (arrays of up to <see cref="MaxSlabBytes"/>, each new one twice
/// the last while the topic is busy) instead of keeping each adder's array: a cache of small entries
/// would otherwise be hundreds of thousands of live arrays, each copied by every collection it
/// survives, and the garbage collector's pauses grew with them (~40 ms per collection at 75,000
/// unbatched adds/s). A slab is never reused: it goes when its last entry is evicted and no reader
/// holds it, so a reader's memory never changes under it. Entries over a quarter of a slab are kept
/// as they came.
/// </remarks>
internal sealed class EntryCache(long maxBytes, TimeSpan maxAge, TimeProvider time)
{
    /// <summary>Largest slab: below it a busy topic's slabs double, from <see cref="MinSlabBytes"/>.</summary>
    internal const int MaxSlabBytes = 1024 * 1024;

    /// <summary>The first slab of a cache that was empty: a quiet topic holds no more.</summary>
    internal const int MinSlabBytes = 4 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<Position, ReadOnlyMemory<byte>> _entries = [];
    private readonly Queue<(Position Position, long AddedAt)> _order = new();
    private long _bytes;
    private byte[] _slab = [];
    private int _slabUsed;

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
            if (_entries.ContainsKey(position))
                return;
            if (data.Length <= MaxSlabBytes / 4)
                data = CopyToSlabLocked(data.Span);
            _entries.Add(position, data);
            var now = time.GetTimestamp();
            _order.Enqueue((position, now));
            _bytes += data.Length;
            EvictLocked(now);
        }
    }

    private ReadOnlyMemory<byte> CopyToSlabLocked(ReadOnlySpan<byte> data)
    {
        if (_slab.Length - _slabUsed < data.Length)
        {
            // An empty cache starts small again; a busy one doubles its slabs (fewer, larger arrays).
            var size = _entries.Count == 0 ? MinSlabBytes : Math.Min(MaxSlabBytes, Math.Max(MinSlabBytes, _slab.Length * 2));
            _slab = GC.AllocateUninitializedArray<byte>(Math.Max(size, data.Length));
            _slabUsed = 0;
        }
        var copy = _slab.AsMemory(_slabUsed, data.Length);
        data.CopyTo(copy.Span);
        _slabUsed += data.Length;
        return copy;
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
            (_slab, _slabUsed) = ([], 0);
        }
    }
}
