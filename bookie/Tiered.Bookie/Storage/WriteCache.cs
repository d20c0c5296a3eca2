namespace Tiered.Bookie.Storage;

/// <summary>
/// Entries that are in the journal but not yet in the entry logs (BookKeeper's write cache).
/// Payloads are copied into large segments, so an add allocates nothing of its own; the
/// bookie fills one cache while the previous one is flushed to the entry logs, then clears it.
/// An add is written here once, as its whole journal record (<see cref="TryPutAdd"/>), and the
/// journal frames it from here: until the journal is done with it (<see cref="Journaled"/>) the
/// segment must not be reused, which <see cref="WhenJournaled"/> lets the flush wait for.
/// Segments are kept from one round to the next; a round that used none, or an idle bookie
/// (<see cref="ReleaseIdleSegments"/>), drops them. They are the cache's own arrays, not the shared
/// array pool's: the pool would keep 8 MiB arrays it was given back for as long as no collection
/// trims it, and an idle process collects nothing, so after a load the segments stayed resident.
/// Thread-safe: adds and reads may run concurrently.
/// </summary>
internal sealed class WriteCache : IDisposable
{
    /// <summary>Room for the largest entry (5 MiB payload plus its 12-byte header) with space to spare.</summary>
    public const int SegmentBytes = 8 * 1024 * 1024;

    private readonly object _sync = new();
    private readonly long _capacityBytes;
    private readonly List<byte[]> _segments = [];
    private readonly Stack<byte[]> _spare = new();
    private (long Ledger, long Entry)[] _sortKeys = []; // kept like the segments: flushes of about the same size follow each other
    private readonly Dictionary<(long Ledger, long Entry), Slot> _index = [];
    private readonly Dictionary<long, long> _lastEntry = [];
    private int _segmentUsed = SegmentBytes; // forces a segment on the first put
    private long _bytes;
    private int _unjournaled;
    private TaskCompletionSource? _allJournaled;

    public WriteCache(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBytes, SegmentBytes);
        _capacityBytes = capacityBytes;
    }

    /// <summary>Payload bytes held.</summary>
    public long Bytes
    {
        get
        {
            lock (_sync)
                return _bytes;
        }
    }

    /// <summary>Segments held, in use or kept for the next round: memory the cache keeps from the collector.</summary>
    public int HeldSegments
    {
        get
        {
            lock (_sync)
                return _segments.Count + _spare.Count;
        }
    }

    public int Count
    {
        get
        {
            lock (_sync)
                return _index.Count;
        }
    }

    /// <summary>Copies an entry in; false when the cache is full (flush it and retry on the next one).</summary>
    public bool TryPut(long ledgerId, long entryId, ReadOnlySpan<byte> entry)
    {
        lock (_sync)
        {
            if (!TryReserve(entry.Length, out var segment, out var offset))
                return false;
            entry.CopyTo(_segments[segment].AsSpan(offset));
            Index(ledgerId, entryId, new Slot(segment, offset, entry.Length));
            return true;
        }
    }

    /// <summary>
    /// Writes an add in as its journal record (<see cref="BookieRecord.WriteAdd"/>), the stored entry
    /// being its tail; false when the cache is full. <paramref name="record"/> stays valid until
    /// <see cref="Journaled"/> is called for it, which the caller must do exactly once.
    /// </summary>
    public bool TryPutAdd(long ledgerId, long entryId, long lastAddConfirmed, uint digest, ReadOnlySpan<byte> payload, out ReadOnlyMemory<byte> record)
    {
        var length = BookieRecord.AddLength(payload.Length);
        lock (_sync)
        {
            if (!TryReserve(length, out var segment, out var offset))
            {
                record = default;
                return false;
            }
            var bytes = _segments[segment];
            BookieRecord.WriteAdd(bytes.AsSpan(offset, length), ledgerId, entryId, lastAddConfirmed, digest, payload);
            Index(ledgerId, entryId, new Slot(segment, offset + BookieRecord.AddHeaderSize, length - BookieRecord.AddHeaderSize));
            Interlocked.Increment(ref _unjournaled); // Journaled() decrements without the lock
            record = bytes.AsMemory(offset, length);
            return true;
        }
    }

    /// <summary>The journal is done with a record of <see cref="TryPutAdd"/> (written, or failed).</summary>
    public void Journaled()
    {
        if (Interlocked.Decrement(ref _unjournaled) == 0 && Volatile.Read(ref _allJournaled) is { } waiter)
            waiter.TrySetResult();
    }

    /// <summary>Completes once the journal is done with every record put here; wait for it before <see cref="Clear"/>.</summary>
    public Task WhenJournaled()
    {
        if (Volatile.Read(ref _unjournaled) == 0)
            return Task.CompletedTask;
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Published before the count is read again: a Journaled() that saw no waiter is seen here as zero.
        Interlocked.Exchange(ref _allJournaled, waiter);
        if (Volatile.Read(ref _unjournaled) == 0)
            waiter.TrySetResult();
        return waiter.Task;
    }

    /// <summary>Finds room for <paramref name="length"/> bytes (taking a new segment if needed); false when the cache is full.</summary>
    private bool TryReserve(int length, out int segment, out int offset)
    {
        if (length > SegmentBytes)
            throw new ArgumentException($"An entry of {length} bytes is larger than a cache segment ({SegmentBytes} bytes).", nameof(length));
        if (_bytes + length > _capacityBytes)
        {
            (segment, offset) = (-1, -1);
            return false;
        }
        if (_segmentUsed + length > SegmentBytes)
        {
            _segments.Add(_spare.TryPop(out var spare) ? spare : GC.AllocateUninitializedArray<byte>(SegmentBytes));
            _segmentUsed = 0;
        }
        segment = _segments.Count - 1;
        offset = _segmentUsed;
        _segmentUsed += length;
        return true;
    }

    private void Index(long ledgerId, long entryId, Slot slot)
    {
        _index[(ledgerId, entryId)] = slot;
        _bytes += slot.Length;
        if (!_lastEntry.TryGetValue(ledgerId, out var last) || entryId > last)
            _lastEntry[ledgerId] = entryId;
    }

    /// <summary>Copies a cached entry out; null when it is not here.</summary>
    public byte[]? Get(long ledgerId, long entryId)
    {
        lock (_sync)
        {
            return _index.TryGetValue((ledgerId, entryId), out var slot)
                ? _segments[slot.Segment].AsSpan(slot.Offset, slot.Length).ToArray()
                : null;
        }
    }

    /// <summary>Highest entry id cached for a ledger.</summary>
    public long? LastEntryId(long ledgerId)
    {
        lock (_sync)
            return _lastEntry.TryGetValue(ledgerId, out var last) ? last : null;
    }

    /// <summary>Forgets a deleted ledger's entries (their bytes stay until <see cref="Clear"/>).</summary>
    public void RemoveLedger(long ledgerId)
    {
        lock (_sync)
        {
            if (!_lastEntry.Remove(ledgerId))
                return;
            foreach (var key in _index.Keys.Where(k => k.Ledger == ledgerId).ToList())
            {
                _bytes -= _index[key].Length;
                _index.Remove(key);
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="visit"/> for every entry sorted by (ledger, entry), so the entry log
    /// receives each ledger's entries together. Call only once no more puts arrive (the cache
    /// being flushed is no longer the one adds go to).
    /// </summary>
    public void ForEachSorted(EntryVisitor visit)
    {
        (long Ledger, long Entry)[] keys;
        int count;
        lock (_sync)
        {
            count = _index.Count;
            if (_sortKeys.Length < count)
                _sortKeys = new (long, long)[count + count / 4];
            keys = _sortKeys;
            _index.Keys.CopyTo(keys, 0);
        }
        Array.Sort(keys, 0, count);
        for (var i = 0; i < count; i++)
        {
            var key = keys[i];
            Slot slot;
            lock (_sync)
                slot = _index[key];
            visit(key.Ledger, key.Entry, _segments[slot.Segment].AsSpan(slot.Offset, slot.Length));
        }
    }

    /// <summary>
    /// Drops every entry. The segments are kept for the next round (the bookie's two caches take
    /// turns, each needing about as many as last time); after a round that used none they go back
    /// to the pool, so an idle bookie holds no cache memory.
    /// </summary>
    public void Clear()
    {
        lock (_sync)
        {
            System.Diagnostics.Debug.Assert(_unjournaled == 0, "A cache was cleared while the journal still reads records from it.");
            if (_segments.Count == 0)
                ReleaseSpares();
            foreach (var segment in _segments)
                _spare.Push(segment);
            _segments.Clear();
            _index.Clear();
            _lastEntry.Clear();
            _segmentUsed = SegmentBytes;
            _bytes = 0;
            _allJournaled = null;
        }
    }

    /// <summary>Drops the segments kept for the next round when the cache is empty (an idle bookie): the collector can then free them.</summary>
    public void ReleaseIdleSegments()
    {
        lock (_sync)
        {
            if (_segments.Count == 0)
                ReleaseSpares();
        }
    }

    private void ReleaseSpares()
    {
        _sortKeys = [];
        _spare.Clear();
    }

    public void Dispose()
    {
        lock (_sync)
        {
            Clear();
            ReleaseSpares();
        }
    }

    public delegate void EntryVisitor(long ledgerId, long entryId, ReadOnlySpan<byte> entry);

    private readonly record struct Slot(int Segment, int Offset, int Length);
}
