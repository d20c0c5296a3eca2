using System.Buffers;
using System.Buffers.Binary;

using Tiered.Ledger;

namespace Tiered.Bookie.Storage;

/// <summary>What <see cref="JournalFileReader.ReadNext"/> found.</summary>
internal enum JournalReadResult
{
    /// <summary>A complete record whose checksum matches.</summary>
    Record,

    /// <summary>The file (or the bound it was opened with) ends after the previous record, or only zeros that pad its last block follow.</summary>
    End,

    /// <summary>Bytes follow that are not a complete, valid record; <see cref="JournalFileReader.Problem"/> says why.</summary>
    Invalid,
}

/// <summary>Reads the records of one journal file sequentially, checking each frame and checksum.</summary>
internal sealed class JournalFileReader : IDisposable
{
    private const int ReadBufferSize = 1 << 20;

    private readonly FileStream _stream;
    private long _end;
    private readonly byte[] _frameHeader = new byte[JournalFormat.FrameHeaderSize];
    private byte[] _payload;
    private long _offset;

    private JournalFileReader(string path, long fileId, FileStream stream, long end)
    {
        Path = path;
        FileId = fileId;
        _stream = stream;
        _end = end;
        _payload = ArrayPool<byte>.Shared.Rent(64 * 1024);
    }

    public string Path { get; }

    public long FileId { get; }

    /// <summary>Where the next record starts; after <see cref="JournalReadResult.Invalid"/>, where the bad bytes start.</summary>
    public long Offset => _offset;

    /// <summary>Why reading stopped at <see cref="Offset"/>, when it did not stop at a clean end.</summary>
    public string? Problem { get; private set; }

    /// <summary>
    /// Opens file <paramref name="fileId"/> and checks its header, then positions at <paramref name="startOffset"/>
    /// (a record boundary, or anything up to the header for the first record). Reads stop at <paramref name="endBound"/>.
    /// If the header is bad, the first <see cref="ReadNext"/> returns <see cref="JournalReadResult.Invalid"/> at offset 0.
    /// </summary>
    public static JournalFileReader Open(string path, long fileId, long startOffset, long endBound)
    {
        var stream = new FileStream(
            path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, ReadBufferSize, FileOptions.SequentialScan);
        try
        {
            var reader = new JournalFileReader(path, fileId, stream, Math.Min(stream.Length, endBound));
            Span<byte> header = stackalloc byte[JournalFormat.HeaderSize];
            var read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            reader.Problem = JournalFormat.CheckHeader(header[..read], fileId);
            if (reader.Problem is null)
            {
                reader._offset = Math.Max(startOffset, JournalFormat.HeaderSize);
                stream.Position = reader._offset;
            }

            return reader;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the next record. <paramref name="payload"/> is valid until the next call. On
    /// <see cref="JournalReadResult.Invalid"/>, <see cref="Offset"/> stays at the start of the bad frame.
    /// </summary>
    public JournalReadResult ReadNext(out ReadOnlyMemory<byte> payload)
    {
        payload = default;
        if (Problem is not null)
        {
            return JournalReadResult.Invalid;
        }

        var remaining = _end - _offset;
        if (remaining <= 0)
        {
            return JournalReadResult.End;
        }

        if (remaining < JournalFormat.FrameHeaderSize)
        {
            return Stop($"partial record header ({remaining} bytes)");
        }

        _stream.ReadExactly(_frameHeader);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(_frameHeader);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(_frameHeader.AsSpan(4));
        if (length == 0)
        {
            if (crc == 0 && remaining < DirectIo.BlockSize && RestIsZero(remaining - JournalFormat.FrameHeaderSize))
            {
                // The zeros after the last record of a direct write, which fills its last block.
                _end = _offset;
                return JournalReadResult.End;
            }

            return Stop(crc == 0 ? "zero-filled space" : "record of length 0");
        }

        if (length > JournalOptions.MaxRecordBytes)
        {
            return Stop($"record length {length} exceeds the maximum {JournalOptions.MaxRecordBytes}");
        }

        if (remaining - JournalFormat.FrameHeaderSize < length)
        {
            return Stop($"record of {length} bytes is truncated ({remaining - JournalFormat.FrameHeaderSize} bytes present)");
        }

        if (_payload.Length < length)
        {
            ArrayPool<byte>.Shared.Return(_payload);
            _payload = ArrayPool<byte>.Shared.Rent((int)length);
        }

        var span = _payload.AsSpan(0, (int)length);
        _stream.ReadExactly(span);
        var actual = Crc32C.Compute(span);
        if (actual != crc)
        {
            return Stop($"checksum mismatch (stored 0x{crc:x8}, computed 0x{actual:x8}) in a record of {length} bytes");
        }

        _offset += JournalFormat.FrameHeaderSize + length;
        payload = _payload.AsMemory(0, (int)length);
        return JournalReadResult.Record;
    }

    public void Dispose()
    {
        _stream.Dispose();
        var payload = Interlocked.Exchange(ref _payload, []);
        if (payload.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }

    private bool RestIsZero(long bytes)
    {
        Span<byte> rest = stackalloc byte[DirectIo.BlockSize];
        rest = rest[..(int)bytes];
        _stream.ReadExactly(rest);
        return !rest.ContainsAnyExcept((byte)0);
    }

    private JournalReadResult Stop(string problem)
    {
        Problem = problem;
        return JournalReadResult.Invalid;
    }
}
