namespace Tiered.ManagedLedger;

/// <summary>
/// Recently added entries by position, holding the adders' memory (no copy), bounded in bytes;
/// the oldest go first. Entries arrive in position order, so a FIFO queue is the eviction order.
/// </summary>
internal sealed class EntryCache(long maxBytes)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Position, ReadOnlyMemory<byte>> _entries = [];
    private readonly Queue<Position> _order = new();
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
            _order.Enqueue(position);
            _bytes += data.Length;
            while (_bytes > maxBytes && _order.TryDequeue(out var oldest))
            {
                if (_entries.Remove(oldest, out var evicted))
                    _bytes -= evicted.Length;
            }
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
