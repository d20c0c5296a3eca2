using Microsoft.Win32.SafeHandles;

namespace Tiered.Bookie.Storage;

internal sealed partial class EntryLogger
{
    /// <summary>
    /// Reads the entry at <paramref name="location"/>, checking that the record there is
    /// (<paramref name="expectedLedgerId"/>, <paramref name="expectedEntryId"/>) and that its length is sane.
    /// Safe to call from any thread; also serves entries still in the write buffer.
    /// </summary>
    /// <exception cref="InvalidDataException">The record is not the expected entry, or is damaged or truncated; the message names the file and offset.</exception>
    /// <exception cref="FileNotFoundException">The log does not exist (deleted or compacted away).</exception>
    public byte[] Read(EntryLocation location, long expectedLedgerId, long expectedEntryId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (location.Offset < EntryLogFormat.FileHeaderSize)
        {
            throw Corrupt(location, "offset is inside the file header");
        }

        // Bytes below the buffer's file offset are in the file for good; only newer ones need the lock.
        if (location.LogId == CurrentLogId && location.Offset >= Volatile.Read(ref _bufferFileOffset))
        {
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (location.LogId == _currentLogId && location.Offset >= _bufferFileOffset)
                {
                    return ReadFromBufferLocked(location, expectedLedgerId, expectedEntryId);
                }
            }
        }

        var handle = GetReadHandle(location.LogId);
        try
        {
            Span<byte> header = stackalloc byte[EntryLogFormat.RecordHeaderSize];
            if (ReadFully(handle, header, location.Offset) < header.Length)
            {
                throw Corrupt(location, "record header runs past the end of the file");
            }

            var length = CheckRecordHeader(location, header, expectedLedgerId, expectedEntryId);
            // Not zeroed first: the read fills it all, or the entry is reported damaged.
            var entry = GC.AllocateUninitializedArray<byte>(length);
            if (ReadFully(handle, entry, location.Offset + EntryLogFormat.RecordHeaderSize) < length)
            {
                throw Corrupt(location, $"record of {length} bytes runs past the end of the file");
            }

            return entry;
        }
        catch (ObjectDisposedException) when (!_disposed)
        {
            throw new FileNotFoundException($"Entry log {location.LogId} was deleted while being read.", LogPath(location.LogId));
        }
    }

    private byte[] ReadFromBufferLocked(EntryLocation location, long expectedLedgerId, long expectedEntryId)
    {
        var start = location.Offset - _bufferFileOffset;
        if (start + EntryLogFormat.RecordHeaderSize > _buffered)
        {
            throw Corrupt(location, "offset is past the end of the log");
        }

        var record = _buffer.AsSpan((int)start, _buffered - (int)start);
        var length = CheckRecordHeader(location, record, expectedLedgerId, expectedEntryId);
        if (EntryLogFormat.RecordHeaderSize + length > record.Length)
        {
            throw Corrupt(location, $"record of {length} bytes runs past the end of the log");
        }

        return record.Slice(EntryLogFormat.RecordHeaderSize, length).ToArray();
    }

    private int CheckRecordHeader(EntryLocation location, ReadOnlySpan<byte> header, long expectedLedgerId, long expectedEntryId)
    {
        var (length, ledgerId, entryId) = EntryLogFormat.ReadRecordHeader(header);
        if (ledgerId != expectedLedgerId || entryId != expectedEntryId)
        {
            throw Corrupt(location, $"record holds ledger {ledgerId} entry {entryId}, expected ledger {expectedLedgerId} entry {expectedEntryId}");
        }

        if (length is 0 or > EntryLogFormat.MaxEntryBytes)
        {
            throw Corrupt(location, $"record length {length} is outside 1..{EntryLogFormat.MaxEntryBytes}");
        }

        return (int)length;
    }

    private InvalidDataException Corrupt(EntryLocation location, string problem) =>
        new($"Entry log {LogPath(location.LogId)} at offset {location.Offset}: {problem}.");

    private SafeFileHandle GetReadHandle(long logId)
    {
        if (_readHandles.TryGetValue(logId, out var handle))
        {
            return handle;
        }

        lock (_readHandlesSync)
        {
            if (_readHandles.TryGetValue(logId, out handle))
            {
                return handle;
            }

            var path = LogPath(logId);
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"Entry log {logId} does not exist (deleted or compacted away?).", path);
            }

            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.RandomAccess);
            _readHandles[logId] = handle;
            return handle;
        }
    }

    private static int ReadFully(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        var total = 0;
        while (total < destination.Length)
        {
            var read = RandomAccess.Read(handle, destination[total..], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
