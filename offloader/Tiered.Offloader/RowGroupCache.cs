namespace Tiered.Offloader;

/// <summary>
/// Row groups read back from objects, shared by every reader of the broker and bounded by bytes
/// (least recently used dropped first). A row group being fetched is cached as its task, so a
/// read-ahead and a reader asking for the same row group share one GET.
/// </summary>
internal sealed class RowGroupCache(long capacityBytes)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Key, int RowGroup), Node> _nodes = [];
    private readonly LinkedList<(string Key, int RowGroup)> _recency = new();
    private long _bytes;

    private sealed class Node(Task<OffloadEntry[]> load, LinkedListNode<(string, int)> recency)
    {
        public Task<OffloadEntry[]> Load { get; } = load;
        public LinkedListNode<(string, int)> Recency { get; } = recency;
        public long Bytes { get; set; }
    }

    /// <summary>Bytes of the loaded row groups held.</summary>
    public long Bytes
    {
        get
        {
            lock (_lock)
                return _bytes;
        }
    }

    /// <summary>The row group's entries: cached, being loaded, or loaded now with <paramref name="load"/>. A failed load is not kept.</summary>
    public Task<OffloadEntry[]> GetOrLoad(string key, int rowGroup, Func<Task<OffloadEntry[]>> load, out bool hit)
    {
        Node node;
        lock (_lock)
        {
            if (_nodes.TryGetValue((key, rowGroup), out var found) && !found.Load.IsFaulted && !found.Load.IsCanceled)
            {
                _recency.Remove(found.Recency);
                _recency.AddFirst(found.Recency);
                hit = true;
                return found.Load;
            }
            if (found is not null)
                RemoveLocked(found);
            node = new Node(Task.Run(load), _recency.AddFirst((key, rowGroup)));
            _nodes[(key, rowGroup)] = node;
            hit = false;
        }
        _ = node.Load.ContinueWith(loaded => Loaded(node, loaded), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return node.Load;
    }

    /// <summary>Drops the row groups of an object (it is being deleted).</summary>
    public void Forget(string key)
    {
        lock (_lock)
        {
            foreach (var node in _nodes.Where(n => n.Key.Key == key).Select(n => n.Value).ToList())
                RemoveLocked(node);
        }
    }

    private void Loaded(Node node, Task<OffloadEntry[]> loaded)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(node.Recency.Value, out var current) || current != node)
                return;
            if (!loaded.IsCompletedSuccessfully)
            {
                RemoveLocked(node);
                return;
            }
            long bytes = 0;
            foreach (var entry in loaded.Result)
                bytes += entry.Data.Length;
            node.Bytes = bytes;
            _bytes += bytes;
            while (_bytes > capacityBytes && _recency.Last is { } oldest)
            {
                var victim = _nodes[oldest.Value];
                if (!victim.Load.IsCompleted)
                    break;
                RemoveLocked(victim);
            }
        }
    }

    private void RemoveLocked(Node node)
    {
        _nodes.Remove(node.Recency.Value);
        _recency.Remove(node.Recency);
        _bytes -= node.Bytes;
    }
}
