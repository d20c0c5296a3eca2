using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Win32.SafeHandles;

namespace Tiered.Bookie.Storage;

/// <summary>
/// The bookie's write-ahead log: every add and fence is appended here and acknowledged only once
/// it is on disk. One writer loop group-commits whatever is queued with one write and one fsync
/// (see Journal.Writer.cs); <see cref="Replay"/> reads records back after a restart and
/// <see cref="Checkpoint"/> drops files whose records are stored elsewhere.
/// </summary>
internal sealed partial class Journal : IAsyncDisposable
{
    private readonly JournalOptions _options;
    private readonly JournalTestHooks? _hooks;
    private readonly Instrumentation? _instrumentation;
    private readonly Channel<JournalAppend> _queue;
    private readonly object _capacityLock = new();
    private readonly object _durableLock = new();
    private readonly Task _writer;

    private readonly TaskCompletionSource _unusable = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource? _capacityFreed;
    private long _queuedBytes;
    private volatile IOException? _failure;
    private volatile bool _disposed;
    private JournalPosition _durableEnd;
    private long _fsyncs;
    private long _recordsWritten;
    private long _bytesWritten;

    private Journal(JournalOptions options, JournalTestHooks? hooks, Instrumentation? instrumentation, long fileId, SafeFileHandle file, long offset)
    {
        _options = options;
        _hooks = hooks;
        _instrumentation = instrumentation;
        _fileId = fileId;
        _file = file;
        try
        {
            StartFile(file, offset);
        }
        catch
        {
            _buffer.Dispose();
            throw;
        }

        _durableEnd = new JournalPosition(fileId, offset);
        _maxGroupWaitTicks = (long)(options.MaxGroupWait.TotalSeconds * Stopwatch.Frequency);
        _queue = Channel.CreateUnbounded<JournalAppend>(new UnboundedChannelOptions
        {
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
        _writer = Task.Run(RunWriterAsync);
    }

    /// <summary>Flushes to disk that acknowledged records, so far (the syncs that create a file are not counted).</summary>
    public long Fsyncs => Interlocked.Read(ref _fsyncs);

    /// <summary>Records written and flushed so far.</summary>
    public long RecordsWritten => Interlocked.Read(ref _recordsWritten);

    /// <summary>Bytes written to journal files so far, frame and file headers included.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Bytes of a torn or corrupt tail that <see cref="Open(JournalOptions)"/> cut off the newest file (0 if none).</summary>
    public long TruncatedTailBytes { get; private init; }

    /// <summary>Why the tail was cut, for the bookie's log; null if nothing was cut.</summary>
    public string? TruncatedTailReason { get; private init; }

    /// <summary>Record bytes (frames included) queued or being written, counted against the queue capacity.</summary>
    internal long QueuedBytes => Interlocked.Read(ref _queuedBytes);

    /// <summary>
    /// Completes when a write or fsync failed and the journal took no more records (a full or
    /// failing disk): from then on every append fails until the bookie restarts.
    /// </summary>
    public Task Unusable => _unusable.Task;

    /// <summary>The position after the last record known to be on disk.</summary>
    public JournalPosition DurableEnd
    {
        get
        {
            lock (_durableLock)
            {
                return _durableEnd;
            }
        }
    }

    /// <summary>
    /// Opens the journal in <see cref="JournalOptions.Directory"/> (created if missing) for appending.
    /// A torn or corrupt tail of the newest file (a crash mid-write) is cut off; appends continue after
    /// the last complete record.
    /// </summary>
    public static Journal Open(JournalOptions options) => Open(options, hooks: null);

    /// <param name="instrumentation">Where fsync latencies and group sizes are recorded; null: nowhere.</param>
    internal static Journal Open(JournalOptions options, JournalTestHooks? hooks, Instrumentation? instrumentation = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(options.Directory);
        var files = JournalFormat.ListFiles(options.Directory);
        if (files.Count == 0)
        {
            var file = CreateFile(options, 1);
            return new Journal(options, hooks, instrumentation, 1, file, JournalFormat.HeaderSize);
        }

        var lastId = files[^1];
        var tail = FindEndOfNewestFile(options, lastId);
        var handle = File.OpenHandle(
            JournalFormat.FilePath(options.Directory, lastId), FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            var length = RandomAccess.GetLength(handle);
            if (tail.RewriteHeader)
            {
                RandomAccess.SetLength(handle, 0);
                Span<byte> header = stackalloc byte[JournalFormat.HeaderSize];
                JournalFormat.WriteHeader(header, lastId);
                RandomAccess.Write(handle, header, 0);
                RandomAccess.FlushToDisk(handle);
            }
            else if (length > tail.End)
            {
                RandomAccess.SetLength(handle, tail.End);
                RandomAccess.FlushToDisk(handle);
            }

            return new Journal(options, hooks, instrumentation, lastId, handle, tail.End)
            {
                TruncatedTailBytes = Math.Max(0, length - tail.End),
                TruncatedTailReason = length > tail.End ? tail.Reason : null,
            };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Queues <paramref name="record"/> (1 byte to <see cref="JournalOptions.MaxRecordBytes"/>) and completes once it
    /// is on disk, with its position. The caller must not change <paramref name="record"/>'s bytes until then.
    /// <paramref name="cancellationToken"/> only cancels waiting for queue space: a queued record is written.
    /// </summary>
    public ValueTask<JournalPosition> AppendAsync(ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default)
        => AppendAsync(record, continueOnWriter: false, cancellationToken);

    /// <summary>
    /// <see cref="AppendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>; with <paramref name="continueOnWriter"/> the
    /// caller's continuation runs on the journal's writer as the group completes, not on the thread pool: it must
    /// only hand the work off (queue a work item of its own, which costs no allocation), never do it there.
    /// </summary>
    internal ValueTask<JournalPosition> AppendAsync(ReadOnlyMemory<byte> record, bool continueOnWriter, CancellationToken cancellationToken)
    {
        if (record.Length == 0)
        {
            throw new ArgumentException("A journal record must not be empty.", nameof(record));
        }

        if (record.Length > JournalOptions.MaxRecordBytes)
        {
            throw new ArgumentException(
                $"A journal record is {record.Length} bytes; the most the journal accepts is {JournalOptions.MaxRecordBytes}.",
                nameof(record));
        }

        ThrowIfUnusable();
        cancellationToken.ThrowIfCancellationRequested();
        var frameBytes = JournalFormat.FrameHeaderSize + record.Length;
        return TryReserve(frameBytes)
            ? Enqueue(record, continueOnWriter)
            : AppendAfterBackPressureAsync(record, frameBytes, continueOnWriter, cancellationToken);
    }

    /// <summary>
    /// Deletes the journal files that end before <paramref name="upTo"/>: the caller has stored every
    /// record before it elsewhere. The file being written is never deleted. Returns how many files went.
    /// </summary>
    public int Checkpoint(JournalPosition upTo)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var current = Volatile.Read(ref _fileId);
        var deleted = 0;
        foreach (var id in JournalFormat.ListFiles(_options.Directory))
        {
            if (id >= upTo.FileId || id >= current)
            {
                break;
            }

            DeleteGradually(JournalFormat.FilePath(_options.Directory, id));
            deleted++;
        }

        return deleted;
    }

    /// <summary>Bytes a checkpoint frees at a time when it deletes a journal file: see <see cref="DeleteGradually"/>.</summary>
    internal const long DeleteStepBytes = 16 * 1024 * 1024;

    /// <summary>
    /// Deletes a journal file a few MiB at a time (shrinking it, then unlinking what is left). On a file system
    /// that discards freed blocks (ext4 <c>-o discard</c>), freeing a whole 256 MiB file at once stalled the
    /// file system's next commit, and with it the journal's fsyncs, for 40–60 ms; freed in steps, each commit
    /// carries a few milliseconds of it. Runs on the flush's thread, which has time to spare.
    /// </summary>
    private static void DeleteGradually(string path)
    {
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            for (var length = RandomAccess.GetLength(handle) - DeleteStepBytes; length > 0; length -= DeleteStepBytes)
            {
                RandomAccess.SetLength(handle, length);
                Thread.Sleep(1);
            }
        }

        File.Delete(path);
    }

    /// <summary>Writes and flushes every queued record (completing them), then closes the journal.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            await _writer.ConfigureAwait(false);
            return;
        }

        _disposed = true;
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        SignalCapacityFreed();
    }

    private ValueTask<JournalPosition> Enqueue(ReadOnlyMemory<byte> record, bool continueOnWriter)
    {
        var append = JournalAppend.Rent(record, Stopwatch.GetTimestamp(), continueOnWriter);
        var version = append.Version;
        if (_queue.Writer.TryWrite(append))
        {
            return new ValueTask<JournalPosition>(append, version);
        }

        ReleaseQueued(append.FrameBytes);
        append.Abandon();
        ThrowIfUnusable();
        throw new ObjectDisposedException(nameof(Journal));
    }

    private async ValueTask<JournalPosition> AppendAfterBackPressureAsync(
        ReadOnlyMemory<byte> record, int frameBytes, bool continueOnWriter, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task freed;
            lock (_capacityLock)
            {
                if (TryReserve(frameBytes))
                {
                    break;
                }

                _capacityFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                freed = _capacityFreed.Task;
            }

            ThrowIfUnusable();
            await freed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return await Enqueue(record, continueOnWriter).ConfigureAwait(false);
    }

    /// <summary>Counts <paramref name="frameBytes"/> as queued unless that would exceed the capacity (one record always fits).</summary>
    private bool TryReserve(int frameBytes)
    {
        var queued = Volatile.Read(ref _queuedBytes);
        while (true)
        {
            if (queued > 0 && queued + frameBytes > _options.QueueCapacityBytes)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _queuedBytes, queued + frameBytes, queued);
            if (seen == queued)
            {
                return true;
            }

            queued = seen;
        }
    }

    private void ReleaseQueued(long frameBytes)
    {
        Interlocked.Add(ref _queuedBytes, -frameBytes);
        SignalCapacityFreed();
    }

    private void SignalCapacityFreed()
    {
        TaskCompletionSource? freed;
        lock (_capacityLock)
        {
            freed = _capacityFreed;
            _capacityFreed = null;
        }

        freed?.TrySetResult();
    }

    private void ThrowIfUnusable()
    {
        if (_failure is { } failure)
        {
            throw new IOException(failure.Message, failure.InnerException);
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
    }
}
