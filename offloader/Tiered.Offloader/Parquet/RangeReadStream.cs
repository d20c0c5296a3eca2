namespace Tiered.Offloader.Parquet;

/// <summary>
/// A seekable read-only stream over a remote object of known length: reads are served from ranges fetched
/// beforehand (for a row group, <see cref="ParquetObjectLayout.RangesFor"/>), and anything else is fetched
/// on demand — at least <see cref="MinimumFetchBytes"/> at a time, kept until the next miss — through
/// <c>fetch(offset, destination, cancellationToken)</c>, which returns the bytes read (one ranged GET).
/// <see cref="FetchCount"/> counts those fetches.
/// </summary>
/// <remarks>
/// Synchronous reads that miss block on the fetch; Parquet.Net reads page headers synchronously, so a
/// caller that cares should prefetch the ranges it needs.
/// </remarks>
public sealed class RangeReadStream : Stream
{
    /// <summary>The smallest on-demand fetch, so that small reads near each other cost one request.</summary>
    public const int MinimumFetchBytes = 64 * 1024;

    private readonly long _length;
    private readonly Func<long, Memory<byte>, CancellationToken, Task<int>> _fetch;
    private readonly (long Offset, ReadOnlyMemory<byte> Bytes)[] _ranges;
    private (long Offset, ReadOnlyMemory<byte> Bytes) _fetched = (0, ReadOnlyMemory<byte>.Empty);
    private long _position;
    private int _fetchCount;

    public RangeReadStream(long length, Func<long, Memory<byte>, CancellationToken, Task<int>> fetch,
        IEnumerable<(long Offset, ReadOnlyMemory<byte> Bytes)> prefetched)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentNullException.ThrowIfNull(fetch);
        ArgumentNullException.ThrowIfNull(prefetched);
        _length = length;
        _fetch = fetch;
        _ranges = [.. prefetched];
        foreach (var (offset, bytes) in _ranges)
        {
            if (offset < 0 || offset + bytes.Length > length)
                throw new ArgumentOutOfRangeException(nameof(prefetched), $"The range at {offset} of {bytes.Length} bytes lies outside the object's {length} bytes.");
        }
    }

    /// <summary>How many times the stream called its fetch function.</summary>
    public int FetchCount => Volatile.Read(ref _fetchCount);

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override int Read(Span<byte> buffer)
    {
        if (TryReadBuffered(buffer, out var read))
            return read;
        var fetched = FetchAsync(buffer.Length, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return CopyFrom(fetched, buffer);
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (TryReadBuffered(buffer.Span, out var read))
            return read;
        var fetched = await FetchAsync(buffer.Length, cancellationToken).ConfigureAwait(false);
        return CopyFrom(fetched, buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Serves the read from a prefetched or fetched range holding the position, if one does.</summary>
    private bool TryReadBuffered(Span<byte> buffer, out int read)
    {
        read = 0;
        if (buffer.IsEmpty || _position >= _length)
            return true;
        foreach (var range in _ranges)
        {
            if (Covers(range))
            {
                read = CopyFrom(range, buffer);
                return true;
            }
        }
        if (Covers(_fetched))
        {
            read = CopyFrom(_fetched, buffer);
            return true;
        }
        return false;
    }

    private bool Covers((long Offset, ReadOnlyMemory<byte> Bytes) range) =>
        _position >= range.Offset && _position < range.Offset + range.Bytes.Length;

    private int CopyFrom((long Offset, ReadOnlyMemory<byte> Bytes) range, Span<byte> buffer)
    {
        var available = range.Bytes.Span[(int)(_position - range.Offset)..];
        var count = Math.Min(available.Length, buffer.Length);
        available[..count].CopyTo(buffer);
        _position += count;
        return count;
    }

    /// <summary>Fetches from the position: the read's size, at least MinimumFetchBytes, cut at the object's end or the next prefetched range.</summary>
    private async ValueTask<(long Offset, ReadOnlyMemory<byte> Bytes)> FetchAsync(int wanted, CancellationToken cancellationToken)
    {
        var end = Math.Min(_length, _position + Math.Max(wanted, MinimumFetchBytes));
        foreach (var range in _ranges)
        {
            if (range.Offset > _position && range.Offset < end)
                end = range.Offset;
        }
        var bytes = new byte[end - _position];
        var filled = 0;
        while (filled < bytes.Length)
        {
            Interlocked.Increment(ref _fetchCount);
            var read = await _fetch(_position + filled, bytes.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read <= 0)
                break;
            filled += read;
        }
        if (filled == 0)
            throw new EndOfStreamException($"The fetch at {_position} of an object of {_length} bytes returned nothing.");
        _fetched = (_position, bytes.AsMemory(0, filled));
        return _fetched;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException("A RangeReadStream is read-only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("A RangeReadStream is read-only.");
}
