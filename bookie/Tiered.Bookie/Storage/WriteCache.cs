using System.Buffers;

namespace Tiered.Bookie.Storage;

/// <summary>
/// Entries that are in the journal but not yet in the entry logs (BookKeeper's write cache).
/// Payloads are copied into large pooled segments, so an add allocates nothing of its own; the
/// bookie fills one cache while the previous one is flushed to the entry logs, then clears it.
/// Thread-safe: adds and reads may run concurrently.
/// </summary>
internal sealed class WriteCache : IDisposable
{
    /// <summary>Room for the largest entry (5 MiB payload plus its 12-byte header) with space to spare.</summary>
    public const int SegmentBytes = 8 * 1024 * 1024;

    private readonly object _sync = new();
    private readonly long _capacityBytes;
    private readonly List<byte[]> _segments = [];
    private readonly Dictionary<(long Ledger, long Entry), Slot> _index = [];
    private readonly Dictionary<long, long> _lastEntry = [];
    private int _segmentUsed = SegmentBytes; // forces a segment on the first put
    private long _bytes;

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
        if (entry.Length > SegmentBytes)
            throw new ArgumentException($"An entry of {entry.Length} bytes is larger than a cache segment ({SegmentBytes} bytes).", nameof(entry));
        lock (_sync)
        {
            if (_bytes + entry.Length > _capacityBytes)
                return false;
            if (_segmentUsed + entry.Length > SegmentBytes)
            {
                _segments.Add(ArrayPool<byte>.Shared.Rent(SegmentBytes));
                _segmentUsed = 0;
            }
            var segment = _segments.Count - 1;
            entry.CopyTo(_segments[segment].AsSpan(_segmentUsed));
            _index[(ledgerId, entryId)] = new Slot(segment, _segmentUsed, entry.Length);
            _segmentUsed += entry.Length;
            _bytes += entry.Length;
            if (!_lastEntry.TryGetValue(ledgerId, out var last) || entryId > last)
                _lastEntry[ledgerId] = entryId;
            return true;
        }
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
        lock (_sync)
            keys = [.. _index.Keys];
        Array.Sort(keys);
        foreach (var key in keys)
        {
            Slot slot;
            lock (_sync)
                slot = _index[key];
            visit(key.Ledger, key.Entry, _segments[slot.Segment].AsSpan(slot.Offset, slot.Length));
        }
    }

    /// <summary>Drops every entry and returns the segments to the pool.</summary>
    public void Clear()
    {
        lock (_sync)
        {
            foreach (var segment in _segments)
                ArrayPool<byte>.Shared.Return(segment);
            _segments.Clear();
            _index.Clear();
            _lastEntry.Clear();
            _segmentUsed = SegmentBytes;
            _bytes = 0;
        }
    }

    public void Dispose() => Clear();

    public delegate void EntryVisitor(long ledgerId, long entryId, ReadOnlySpan<byte> entry);

    private readonly record struct Slot(int Segment, int Offset, int Length);
}
