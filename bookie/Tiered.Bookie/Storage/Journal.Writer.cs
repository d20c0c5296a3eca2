using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Tiered.Bookie.Storage;

/// <summary>
/// The writer loop: the only code that touches the open journal file. It takes what is queued,
/// waits up to <see cref="JournalOptions.MaxGroupWait"/> from the first record's arrival (or until
/// <see cref="JournalOptions.FlushThresholdBytes"/> are queued) for more, then writes the group with
/// one write and one fsync and completes it. Records that arrive during an fsync simply queue, which
/// is what makes groups under load.
/// </summary>
internal sealed partial class Journal
{
    private const int MaxGroupBytesPerThreshold = 4;

    private readonly long _maxGroupWaitTicks;
    private readonly List<JournalAppend> _group = new(1024);
    private CancellationTokenSource _groupWait = new();
    private SafeFileHandle _file;
    private long _fileId;
    private long _fileOffset;

    /// <summary>
    /// Where a group is framed before its write, aligned for direct I/O: first the bytes of the file's last,
    /// partly written block (<see cref="_tailBytes"/> of them, the file offset modulo the block size), then the
    /// group's frames. A direct write rewrites that block with the same bytes and the new ones after them.
    /// </summary>
    private readonly AlignedBuffer _buffer = new(1024 * 1024);
    private int _tailBytes;

    /// <summary>Whether the open file is written with direct I/O (<see cref="JournalOptions.WriteDirectly"/>, where the file system offers it).</summary>
    private volatile bool _direct;

    /// <summary>Whether the current file is written with direct I/O (for tests).</summary>
    internal bool WritesDirectly => _direct;

    /// <summary>
    /// The next file, being created in the background since the current one passed half its size: creating a
    /// file (preallocating it, fsyncing it and its directory) takes milliseconds to tens of milliseconds, which
    /// every add queued behind a rollover would otherwise wait. Null until the current file is half full.
    /// </summary>
    private Task<SafeFileHandle>? _nextFile;

    private async Task RunWriterAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                var groupBytes = DrainInto(0);
                if (_group.Count == 0)
                {
                    continue;
                }

                if (groupBytes < _options.FlushThresholdBytes && !_disposed)
                {
                    groupBytes = await WaitForMoreAsync(groupBytes).ConfigureAwait(false);
                }

                await WriteGroupAsync(groupBytes).ConfigureAwait(false);
                _instrumentation?.JournalGroupRecords.Record(_group.Count);
                foreach (var append in _group)
                {
                    append.Succeed();
                }

                _group.Clear();
                ReleaseQueued(groupBytes);
            }
        }
        catch (Exception error)
        {
            FailForever(error);
        }
        finally
        {
            _file.Dispose();
            await ReleaseNextFileAsync().ConfigureAwait(false);
            _groupWait.Dispose();
            _buffer.Dispose();
        }
    }

    /// <summary>
    /// Moves queued records into the group, up to <see cref="MaxGroupBytesPerThreshold"/> times the flush
    /// threshold (which bounds the write buffer and how long the first record of a deep queue waits);
    /// returns the group's bytes.
    /// </summary>
    private long DrainInto(long groupBytes)
    {
        var maxGroupBytes = (long)_options.FlushThresholdBytes * MaxGroupBytesPerThreshold;
        while (groupBytes < maxGroupBytes && _queue.Reader.TryRead(out var append))
        {
            _group.Add(append);
            groupBytes += append.FrameBytes;
        }

        return groupBytes;
    }

    private async ValueTask<long> WaitForMoreAsync(long groupBytes)
    {
        var deadline = _group[0].EnqueuedAt + _maxGroupWaitTicks;
        while (groupBytes < _options.FlushThresholdBytes)
        {
            var remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0)
            {
                break;
            }

            var milliseconds = Math.Max(1, (int)Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency));
            _groupWait.CancelAfter(milliseconds);
            var more = _queue.Reader.WaitToReadAsync(_groupWait.Token).AsTask();
            await ((Task)more).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!_groupWait.TryReset())
            {
                _groupWait.Dispose();
                _groupWait = new CancellationTokenSource();
            }

            if (!more.IsCompletedSuccessfully || !more.Result)
            {
                break;
            }

            groupBytes = DrainInto(groupBytes);
        }

        return groupBytes;
    }

    /// <summary>Frames the group after the file's partial block and writes it, rolling to a new file where one fills up.</summary>
    private async ValueTask WriteGroupAsync(long groupBytes)
    {
        _buffer.EnsureCapacity(groupBytes + (2 * DirectIo.BlockSize));
        var used = _tailBytes;
        foreach (var append in _group)
        {
            var segmentEnd = _fileOffset + (used - _tailBytes);
            if (segmentEnd + append.FrameBytes > _options.MaxFileBytes && segmentEnd > JournalFormat.HeaderSize)
            {
                await WriteAndFlushAsync(used).ConfigureAwait(false);
                await RollOverAsync().ConfigureAwait(false);
                used = _tailBytes;
            }

            append.Position = new JournalPosition(_fileId, _fileOffset + (used - _tailBytes));
            used += JournalFormat.WriteFrame(_buffer.Span[used..], append.Record.Span);
        }

        await WriteAndFlushAsync(used).ConfigureAwait(false);
        Interlocked.Add(ref _recordsWritten, _group.Count);
        if (_nextFile is null && _fileOffset >= _options.MaxFileBytes / 2)
        {
            var (options, nextId) = (_options, _fileId + 1);
            _nextFile = Task.Run(() => CreateFile(options, nextId));
        }
    }

    /// <summary>Writes the buffer's frames (up to <paramref name="used"/>) at the end of the file and fsyncs it.</summary>
    private async ValueTask WriteAndFlushAsync(int used)
    {
        var bytes = used - _tailBytes;
        if (bytes == 0)
        {
            return;
        }

        _hooks?.BeforeWrite?.Invoke();
        Write(used);
        _fileOffset += bytes;
        KeepTail(used);
        Interlocked.Add(ref _bytesWritten, bytes);
        if (_hooks?.BeforeFlush is { } beforeFlush)
        {
            await beforeFlush().ConfigureAwait(false);
        }

        var fsyncStart = Stopwatch.GetTimestamp();
        RandomAccess.FlushToDisk(_file);
        _instrumentation?.JournalFsyncLatency.Record(Stopwatch.GetElapsedTime(fsyncStart).TotalSeconds);
        Interlocked.Increment(ref _fsyncs);
        lock (_durableLock)
        {
            _durableEnd = new JournalPosition(_fileId, _fileOffset);
        }
    }

    /// <summary>
    /// Direct: whole blocks from the start of the partial one, zeros after the frames (the next write replaces
    /// them; replay stops at zeros, as in preallocated space). Buffered: just the new frames.
    /// </summary>
    private void Write(int used)
    {
        var buffer = _buffer.Span;
        if (_direct)
        {
            var padded = (int)DirectIo.AlignUp(used);
            buffer[used..padded].Clear();
            RandomAccess.Write(_file, buffer[..padded], _fileOffset - _tailBytes);
        }
        else
        {
            RandomAccess.Write(_file, buffer[_tailBytes..used], _fileOffset);
        }
    }

    /// <summary>Moves the file's new partial block (which ends at <paramref name="used"/>) to the start of the buffer.</summary>
    private void KeepTail(int used)
    {
        var tail = (int)(_fileOffset % DirectIo.BlockSize);
        _buffer.Span.Slice(used - tail, tail).CopyTo(_buffer.Span);
        _tailBytes = tail;
    }

    /// <summary>
    /// Starts writing <paramref name="file"/> at <paramref name="offset"/>: reads its partial last block into the
    /// buffer, then turns direct I/O on (if the options ask for it) and proves it with a write of that block (the
    /// same bytes); a file system that refuses it keeps buffered writes.
    /// </summary>
    private void StartFile(SafeFileHandle file, long offset)
    {
        (_file, _fileOffset, _tailBytes) = (file, offset, (int)(offset % DirectIo.BlockSize));
        var read = RandomAccess.Read(file, _buffer.Span[.._tailBytes], DirectIo.AlignDown(offset));
        if (read != _tailBytes)
        {
            throw new IOException($"Journal file {JournalFormat.FileName(_fileId)} ended at {DirectIo.AlignDown(offset) + read} bytes, before the end of its records at {offset}.");
        }

        _direct = false;
        if (!_options.WriteDirectly || !DirectIo.TrySet(file, on: true))
        {
            return;
        }

        try
        {
            _direct = true;
            Write(_tailBytes);
        }
        catch (IOException)
        {
            _direct = false;
            DirectIo.TrySet(file, on: false);
        }
    }

    /// <summary>Closes the full file (already flushed) and continues in the next one, made ahead if it could be.</summary>
    private async ValueTask RollOverAsync()
    {
        var nextId = _fileId + 1;
        var next = await TakeNextFileAsync(nextId).ConfigureAwait(false);
        _file.Dispose();
        Volatile.Write(ref _fileId, nextId);
        StartFile(next, JournalFormat.HeaderSize);
        Interlocked.Add(ref _bytesWritten, JournalFormat.HeaderSize);
    }

    /// <summary>
    /// The file made ahead; if making it failed (a full disk, say), the half-made file (never written to) goes
    /// and the file is made here, which fails the journal if it fails again.
    /// </summary>
    private async ValueTask<SafeFileHandle> TakeNextFileAsync(long nextId)
    {
        var prepared = _nextFile;
        _nextFile = null;
        if (prepared is not null)
        {
            try
            {
                return await prepared.ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                File.Delete(JournalFormat.FilePath(_options.Directory, nextId));
            }
        }

        return CreateFile(_options, nextId);
    }

    /// <summary>At close: the file made ahead stays on disk (a valid, empty journal file the next open appends to) and its handle goes.</summary>
    private async ValueTask ReleaseNextFileAsync()
    {
        if (_nextFile is not { } prepared)
            return;
        _nextFile = null;
        try
        {
            (await prepared.ConfigureAwait(false)).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Creates journal file <paramref name="fileId"/> with its header, durable (file and directory entry).</summary>
    private static SafeFileHandle CreateFile(JournalOptions options, long fileId)
    {
        var path = JournalFormat.FilePath(options.Directory, fileId);
        var handle = File.OpenHandle(
            path,
            FileMode.CreateNew,
            FileAccess.ReadWrite,
            FileShare.Read,
            FileOptions.None,
            options.Preallocate ? Math.Min(options.PreallocationBytes, options.MaxFileBytes) : 0);
        try
        {
            Span<byte> header = stackalloc byte[JournalFormat.HeaderSize];
            JournalFormat.WriteHeader(header, fileId);
            RandomAccess.Write(handle, header, 0);
            RandomAccess.FlushToDisk(handle);
            DirectorySync.Sync(options.Directory);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A failed write or fsync leaves the file's state unknown (after a failed fsync Linux may even drop
    /// the dirty pages), so the journal never retries: it fails the group, everything queued and every
    /// later append.
    /// </summary>
    private void FailForever(Exception error)
    {
        var failure = new IOException(
            $"The journal in {_options.Directory} is unusable: writing {JournalFormat.FileName(_fileId)} at offset " +
            $"{_fileOffset} failed ({error.GetType().Name}: {error.Message}). No further record is acknowledged.",
            error);
        _failure = failure;
        _queue.Writer.TryComplete();
        _unusable.TrySetResult();
        var releasedBytes = 0L;
        foreach (var append in _group)
        {
            releasedBytes += append.FrameBytes;
            append.Fail(failure);
        }

        _group.Clear();
        while (_queue.Reader.TryRead(out var append))
        {
            releasedBytes += append.FrameBytes;
            append.Fail(failure);
        }

        ReleaseQueued(releasedBytes);
    }
}
