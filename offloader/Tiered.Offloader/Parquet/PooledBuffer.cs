using System.Buffers;

namespace Tiered.Offloader.Parquet;

/// <summary>
/// A growable array rented from <see cref="ArrayPool{T}"/>: a column's values (or an arena of bytes or
/// chars) for the row group being built, kept across row groups so a writer stops allocating once warm.
/// </summary>
internal sealed class PooledBuffer<T> : IDisposable
{
    private T[] _items;

    public PooledBuffer(int initialCapacity = 1024) => _items = ArrayPool<T>.Shared.Rent(initialCapacity);

    public int Count { get; private set; }

    public Span<T> Span => _items.AsSpan(0, Count);

    public ReadOnlyMemory<T> Memory => _items.AsMemory(0, Count);

    public T[] Array => _items;

    public void Add(T item)
    {
        if (Count == _items.Length)
            Grow(Count + 1);
        _items[Count++] = item;
    }

    /// <summary>Makes room for <paramref name="count"/> more items and returns them, to be filled by the caller.</summary>
    public Span<T> Append(int count)
    {
        if (_items.Length - Count < count)
            Grow(Count + count);
        var span = _items.AsSpan(Count, count);
        Count += count;
        return span;
    }

    /// <summary>Gives back the unused end of the last <see cref="Append"/>.</summary>
    public void Truncate(int count) => Count = count;

    public void Clear()
    {
        if (System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            System.Array.Clear(_items, 0, Count);
        Count = 0;
    }

    public void Dispose()
    {
        Clear();
        ArrayPool<T>.Shared.Return(_items);
        _items = [];
    }

    private void Grow(int needed)
    {
        var next = ArrayPool<T>.Shared.Rent((int)Math.Min(Math.Max((long)needed, (long)_items.Length * 2), System.Array.MaxLength));
        _items.AsSpan(0, Count).CopyTo(next);
        if (System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            System.Array.Clear(_items, 0, Count);
        ArrayPool<T>.Shared.Return(_items);
        _items = next;
    }
}
