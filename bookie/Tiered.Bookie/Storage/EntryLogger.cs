using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace Tiered.Bookie.Storage;

/// <summary>
/// The bookie's entry logs: append-only files <c>{logId:x16}.log</c> that hold entries of all ledgers
/// interleaved in arrival order (BookKeeper's DbLedgerStorage shape). Where each entry landed is
/// recorded by the caller in the <see cref="LedgerIndex"/>.
/// </summary>
/// <remarks>
/// <para>Threading: exactly one writer — the bookie's flush thread — calls <see cref="Append"/>,
/// <see cref="Flush"/>, <see cref="Compact"/> and <see cref="DeleteLog"/>. Any number of threads may call
/// <see cref="Read"/>, <see cref="Scan"/> and the properties concurrently with it. A short lock guards the
/// write buffer so a reader can serve an entry that has not reached the file yet; fsync runs outside it.</para>
/// <para>Durability: appends sit in a pooled buffer until it fills or <see cref="Flush"/> runs; only after
/// <see cref="Flush"/> returns are they on disk. A log is fsynced when it rolls over.</para>
/// </remarks>
internal sealed partial class EntryLogger : IDisposable
{
    private readonly EntryLoggerOptions _options;
    private readonly Lock _sync = new();
    private readonly SortedSet<long> _logIds = [];
    private readonly ConcurrentDictionary<long, SafeFileHandle> _readHandles = new();
    private readonly Lock _readHandlesSync = new();
    private byte[] _buffer;
    private int _buffered;
    private SafeFileHandle _writeHandle;
    private long _currentLogId;
    private long _bufferFileOffset;

    /// <summary>Start of the current log's range whose write-back was started and not yet waited for.</summary>
    private long _writeBackFrom;
    private bool _disposed;

    /// <summary>Opens the logs in <see cref="EntryLoggerOptions.Directory"/>, cutting a torn tail off the newest one so appends continue after its last whole record.</summary>
    public EntryLogger(EntryLoggerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Directory.CreateDirectory(options.Directory);
        foreach (var path in Directory.EnumerateFiles(options.Directory, "*.log"))
        {
            if (EntryLogFormat.TryParseFileName(Path.GetFileName(path), out var logId))
            {
                _logIds.Add(logId);
            }
        }

        if (_logIds.Count == 0)
        {
            (_writeHandle, _bufferFileOffset) = (CreateLogFile(0), EntryLogFormat.FileHeaderSize);
            _logIds.Add(0);
        }
        else
        {
            _currentLogId = _logIds.Max;
            (_writeHandle, _bufferFileOffset) = ReopenForAppend(_currentLogId);
        }

        _writeBackFrom = _bufferFileOffset;

        _buffer = ArrayPool<byte>.Shared.Rent(options.WriteBufferBytes);
    }

    /// <summary>The log that appends go to.</summary>
    public long CurrentLogId => Volatile.Read(ref _currentLogId);

    /// <summary>Every log on disk, oldest first (a snapshot).</summary>
    public IEnumerable<long> LogIds
    {
        get
        {
            lock (_sync)
            {
                return [.. _logIds];
            }
        }
    }

    /// <summary>Path of a log's file.</summary>
    public string LogPath(long logId) => Path.Combine(_options.Directory, EntryLogFormat.FileName(logId));

    /// <summary>
    /// Appends one entry to the current log (rolling to a new log first if it would pass
    /// <see cref="EntryLoggerOptions.MaxLogBytes"/>) and returns where it went. Writer thread only.
    /// The entry is readable at once but durable only after <see cref="Flush"/>.
    /// </summary>
    public EntryLocation Append(long ledgerId, long entryId, ReadOnlySpan<byte> entry)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ledgerId);
        ArgumentOutOfRangeException.ThrowIfNegative(entryId);
        if (entry.Length is 0 or > EntryLogFormat.MaxEntryBytes)
        {
            throw new ArgumentException($"An entry must hold 1 to {EntryLogFormat.MaxEntryBytes} bytes, got {entry.Length}.", nameof(entry));
        }

        var recordSize = EntryLogFormat.RecordHeaderSize + entry.Length;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var end = _bufferFileOffset + _buffered;
            if (end + recordSize > _options.MaxLogBytes && end > EntryLogFormat.FileHeaderSize)
            {
                RollLocked();
            }

            if (recordSize > _buffer.Length - _buffered)
            {
                WriteBufferLocked();
            }

            var offset = _bufferFileOffset + _buffered;
            if (recordSize <= _buffer.Length)
            {
                var destination = _buffer.AsSpan(_buffered, recordSize);
                EntryLogFormat.WriteRecordHeader(destination, ledgerId, entryId, entry.Length);
                entry.CopyTo(destination[EntryLogFormat.RecordHeaderSize..]);
                _buffered += recordSize;
            }
            else
            {
                Span<byte> header = stackalloc byte[EntryLogFormat.RecordHeaderSize];
                EntryLogFormat.WriteRecordHeader(header, ledgerId, entryId, entry.Length);
                RandomAccess.Write(_writeHandle, header, offset);
                RandomAccess.Write(_writeHandle, entry, offset + EntryLogFormat.RecordHeaderSize);
                Volatile.Write(ref _bufferFileOffset, _bufferFileOffset + recordSize);
            }

            return new EntryLocation(_currentLogId, offset);
        }
    }

    /// <summary>Writes buffered appends to the current log and fsyncs it. Writer thread only; the bookie calls it before checkpointing the journal.</summary>
    public void Flush()
    {
        SafeFileHandle handle;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            WriteBufferLocked();
            handle = _writeHandle;
        }

        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Deletes a log that is not the current one (its entries must be dead or relocated). Writer thread only.</summary>
    public void DeleteLog(long logId)
    {
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (logId == _currentLogId)
            {
                throw new InvalidOperationException($"Entry log {logId} is the current log and cannot be deleted.");
            }

            _logIds.Remove(logId);
        }

        if (_readHandles.TryRemove(logId, out var handle))
        {
            handle.Dispose();
        }

        File.Delete(LogPath(logId));
    }

    /// <summary>Writes out and fsyncs what is buffered, then closes every file.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            WriteBufferLocked();
        }

        RandomAccess.FlushToDisk(_writeHandle);
        _writeHandle.Dispose();
        foreach (var handle in _readHandles.Values)
        {
            handle.Dispose();
        }

        _readHandles.Clear();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private void WriteBufferLocked()
    {
        if (_buffered == 0)
        {
            return;
        }

        RandomAccess.Write(_writeHandle, _buffer.AsSpan(0, _buffered), _bufferFileOffset);
        WriteBack.Start(_writeHandle, _bufferFileOffset, _buffered);
        WriteBack.Wait(_writeHandle, _writeBackFrom, _bufferFileOffset - _writeBackFrom);
        _writeBackFrom = _bufferFileOffset;
        Volatile.Write(ref _bufferFileOffset, _bufferFileOffset + _buffered);
        _buffered = 0;
    }

    private void RollLocked()
    {
        WriteBufferLocked();
        RandomAccess.FlushToDisk(_writeHandle);
        var next = _currentLogId + 1;
        var handle = CreateLogFile(next);
        _writeHandle.Dispose();
        _writeHandle = handle;
        Volatile.Write(ref _bufferFileOffset, EntryLogFormat.FileHeaderSize);
        _writeBackFrom = EntryLogFormat.FileHeaderSize;
        _logIds.Add(next);
        Volatile.Write(ref _currentLogId, next);
    }

    private SafeFileHandle CreateLogFile(long logId)
    {
        var handle = File.OpenHandle(LogPath(logId), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[EntryLogFormat.FileHeaderSize];
        EntryLogFormat.WriteFileHeader(header, logId);
        RandomAccess.Write(handle, header, 0);
        RandomAccess.FlushToDisk(handle);
        DirectorySync.Sync(_options.Directory);
        return handle;
    }

    private (SafeFileHandle Handle, long End) ReopenForAppend(long logId)
    {
        var path = LogPath(logId);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            var length = RandomAccess.GetLength(handle);
            Span<byte> header = stackalloc byte[EntryLogFormat.FileHeaderSize];
            if (length < EntryLogFormat.FileHeaderSize)
            {
                // Crashed while creating the file: start it afresh.
                RandomAccess.SetLength(handle, 0);
                EntryLogFormat.WriteFileHeader(header, logId);
                RandomAccess.Write(handle, header, 0);
                RandomAccess.FlushToDisk(handle);
                return (handle, EntryLogFormat.FileHeaderSize);
            }

            long end = EntryLogFormat.FileHeaderSize;
            foreach (var entry in ScanFile(path, logId, length))
            {
                end = entry.Location.Offset + entry.RecordBytes;
            }

            if (end < length)
            {
                RandomAccess.SetLength(handle, end);
                RandomAccess.FlushToDisk(handle);
            }

            return (handle, end);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
