using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Tiered.Bookie.Storage;

/// <summary>
/// One queued append and the awaitable its caller holds. Pooled: the object goes back to the pool
/// when the caller's await reads the result, so the hot path allocates nothing per record.
/// </summary>
internal sealed class JournalAppend : IValueTaskSource<JournalPosition>
{
    private const int MaxPooled = 8192;

    private static readonly ConcurrentQueue<JournalAppend> Pool = new();
    private static int _pooledCount;

    // Continuations run on the thread pool so callers' work never runs on (and stalls) the journal writer,
    // unless the caller asked to continue on the writer (to hand off without the pool's per-callback allocation).
    private ManualResetValueTaskSourceCore<JournalPosition> _core = new() { RunContinuationsAsynchronously = true };

    private JournalAppend()
    {
    }

    /// <summary>The caller's payload; it stays referenced (not copied) until the record is written.</summary>
    public ReadOnlyMemory<byte> Record { get; private set; }

    /// <summary>Bytes the record takes in the journal, frame header included.</summary>
    public int FrameBytes => JournalFormat.FrameHeaderSize + Record.Length;

    /// <summary>When the record was queued (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long EnqueuedAt { get; private set; }

    /// <summary>Where the writer put the record.</summary>
    public JournalPosition Position { get; set; }

    public short Version => _core.Version;

    public static JournalAppend Rent(ReadOnlyMemory<byte> record, long enqueuedAt, bool continueOnWriter = false)
    {
        if (Pool.TryDequeue(out var append))
        {
            Interlocked.Decrement(ref _pooledCount);
        }
        else
        {
            append = new JournalAppend();
        }

        append.Record = record;
        append.EnqueuedAt = enqueuedAt;
        append._core.RunContinuationsAsynchronously = !continueOnWriter;
        return append;
    }

    public void Succeed() => _core.SetResult(Position);

    public void Fail(Exception error) => _core.SetException(error);

    /// <summary>Returns an append that was never handed to a caller.</summary>
    public void Abandon() => Recycle();

    public JournalPosition GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Recycle();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(
        Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    private void Recycle()
    {
        _core.Reset();
        Record = default;
        Position = default;
        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooledCount);
        }
    }
}
