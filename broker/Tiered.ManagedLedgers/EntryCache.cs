namespace Tiered.ManagedLedgers;

/// <summary>
/// Recently added entries by position, bounded in bytes and in age: tailing readers take an entry
/// within moments of its add, so an older one only holds memory (an idle topic's cache empties).
/// The managed ledger puts an added entry here only while an active cursor reads near the end of the
/// log (<c>ManagedLedger.CachesAddLocked</c>). Entries read from storage while several cursors read the
/// ledger are cached too, so that one read serves every subscription. The first cached go first (a FIFO queue of insertions is the eviction order).
/// </summary>
/// <remarks>
/// Entries up to <see cref="MaxCopiedBytes"/> are copied into slabs (arrays of up to <see cref="MaxSlabBytes"/>, each new one twice
/// the last while the topic is busy) instead of keeping each adder's array: a cache of small entries
/// would otherwise be hundreds of thousands of live arrays, each copied by every collection it
/// survives, and the garbage collector's pauses grew with them (~40 ms per collection at 75,000
/// unbatched adds/s); batches of tens of KB, fewer arrays but as many bytes, still made every
/// collection a generation-1 one (~17 ms each at 56 MB/s of 1 KB messages in batches of ~45). A slab
/// is never reused: it goes when its last entry is evicted and no reader holds it, so a reader's
/// memory never changes under it. Entries over <see cref="MaxCopiedBytes"/> are kept as they came
/// (an array of 85,000 bytes or more is on the large-object heap, which the collector does not copy).
/// </remarks>
internal sealed class EntryCache(long maxBytes, TimeSpan maxAge, TimeProvider time)
{
    /// <summary>Largest slab: below it a busy topic's slabs double, from <see cref="MinSlabBytes"/>.</summary>
    internal const int MaxSlabBytes = 1024 * 1024;

    /// <summary>The largest entry copied into a slab: below the large-object heap's 85,000 bytes, with room for the array's header.</summary>
    internal const int MaxCopiedBytes = 80 * 1024;

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
            if (data.Length <= MaxCopiedBytes)
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

    public bool Contains(Position position)
    {
        lock (_lock)
            return _entries.ContainsKey(position);
    }

    public bool TryGet(Position position, out ReadOnlyMemory<byte> data)
    {
        lock (_lock)
            return _entries.TryGetValue(position, out data);
    }

    /// <summary>
    /// Appends the cached entries <paramref name="first"/>, <paramref name="first"/> + 1, … of ledger
    /// <paramref name="ledgerId"/> up to <paramref name="last"/>, stopping at the first not cached; answers how many.
    /// One lock for the run, not one per entry: a tailing reader takes its entries from here.
    /// </summary>
    public int TakeRun(long ledgerId, long first, long last, List<ManagedEntry> into)
    {
        var taken = 0;
        lock (_lock)
        {
            for (var entryId = first; entryId <= last; entryId++)
            {
                var position = new Position(ledgerId, entryId);
                if (!_entries.TryGetValue(position, out var data))
                    break;
                into.Add(new ManagedEntry(position, data));
                taken++;
            }
        }
        return taken;
    }

    /// <summary>The last entry id of the run of entries from <paramref name="first"/> (not cached) up to <paramref name="last"/> that are not cached.</summary>
    public long MissEnd(long ledgerId, long first, long last)
    {
        lock (_lock)
        {
            var end = first;
            while (end < last && !_entries.ContainsKey(new Position(ledgerId, end + 1)))
                end++;
            return end;
        }
    }

    /// <summary>Caches entries read from storage (<paramref name="entries"/> from index <paramref name="start"/> on), so that other readers of them share the read.</summary>
    public void PutRead(List<ManagedEntry> entries, int start)
    {
        lock (_lock)
        {
            var now = time.GetTimestamp();
            for (var i = start; i < entries.Count; i++)
            {
                var (position, data) = entries[i];
                if (data.Length > maxBytes || !_entries.TryAdd(position, data))
                    continue;
                _order.Enqueue((position, now));
                _bytes += data.Length;
            }
            EvictLocked(now);
        }
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
