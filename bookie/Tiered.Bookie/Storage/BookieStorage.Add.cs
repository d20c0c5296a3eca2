using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Tiered.Bookie.Storage;

/// <summary>Told the outcome of one <see cref="BookieStorage.Add"/>, exactly once.</summary>
internal interface IAddCompletion
{
    /// <param name="error">Why the add failed (the journal failed, the wait for room was cancelled); null when <paramref name="result"/> stands.</param>
    void Completed(long ledgerId, long entryId, StorageResult result, Exception? error);
}

/// <summary>
/// The add path. An add is written once, as its journal record, into the write cache; the journal
/// frames it from there, and when its group commit is durable a pooled <see cref="PendingAdd"/>
/// counts it and tells the caller. Nothing is allocated per add on the way (no async method, no
/// task, no copy of the record), unless both cache halves are full and the add waits for a flush.
/// </summary>
internal sealed partial class BookieStorage
{
    /// <summary>Stores an entry; completes once it is durable in the journal (or at once when refused).</summary>
    public ValueTask<StorageResult> AddAsync(long ledgerId, long entryId, long lastAddConfirmed, uint digest, ReadOnlyMemory<byte> payload, bool recovery, CancellationToken cancellationToken)
    {
        var awaitable = AddAwaitable.Rent();
        var task = new ValueTask<StorageResult>(awaitable, awaitable.Version);
        Add(ledgerId, entryId, lastAddConfirmed, digest, payload, recovery, awaitable, cancellationToken);
        return task;
    }

    /// <summary>
    /// Stores an entry and tells <paramref name="done"/> once it is durable in the journal, or why it
    /// was refused (possibly before this returns). The payload is copied before this returns unless
    /// the write cache is full, when it is read once a flush made room.
    /// </summary>
    public void Add(long ledgerId, long entryId, long lastAddConfirmed, uint digest, ReadOnlyMemory<byte> payload, bool recovery, IAddCompletion done, CancellationToken cancellationToken)
    {
        if (ReadOnly && !recovery)
        {
            done.Completed(ledgerId, entryId, StorageResult.ReadOnly, null);
            return;
        }
        var state = State(ledgerId);
        if (state.Fenced && !recovery)
        {
            done.Completed(ledgerId, entryId, StorageResult.Fenced, null);
            return;
        }
        var start = Stopwatch.GetTimestamp();
        WriteCache cache;
        ReadOnlyMemory<byte> record;
        try
        {
            lock (_cacheLock)
            {
                cache = _active;
                if (cache.TryPutAdd(ledgerId, entryId, lastAddConfirmed, digest, payload.Span, out record))
                    WantFlushIfHalfFull();
            }
        }
        catch (Exception e)
        {
            done.Completed(ledgerId, entryId, default, e);
            return;
        }
        var pending = PendingAdd.Rent(this, state, ledgerId, entryId, lastAddConfirmed, recovery, start, done);
        if (record.IsEmpty)
            _ = pending.AddWhenCacheHasRoomAsync(digest, payload, cancellationToken);
        else
            pending.Journal(cache, record, cancellationToken);
    }

    /// <summary>
    /// One add between the write cache and its answer, pooled. When the journal's group completes,
    /// <see cref="OnJournaled"/> runs on the thread pool; the object goes back to the pool before the
    /// caller is told.
    /// </summary>
    private sealed class PendingAdd : IThreadPoolWorkItem
    {
        private const int MaxPooled = 16384;

        private static readonly ConcurrentQueue<PendingAdd> Pool = new();
        private static int _pooledCount;

        private readonly Action _onJournaled;
        private ConfiguredValueTaskAwaitable<JournalPosition>.ConfiguredValueTaskAwaiter _journaled;
        private BookieStorage _storage = null!;
        private LedgerState _state = null!;
        private WriteCache _cache = null!;
        private IAddCompletion _done = null!;
        private long _ledgerId;
        private long _entryId;
        private long _lastAddConfirmed;
        private bool _recovery;
        private long _start;

        // Runs on the journal's writer as the group completes: hands the rest to the thread pool (this
        // object is the work item, so that allocates nothing) and leaves the writer to its next group.
        private PendingAdd() => _onJournaled = () => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

        void IThreadPoolWorkItem.Execute() => OnJournaled();

        public static PendingAdd Rent(BookieStorage storage, LedgerState state, long ledgerId, long entryId, long lastAddConfirmed, bool recovery, long start, IAddCompletion done)
        {
            if (Pool.TryDequeue(out var pending))
                Interlocked.Decrement(ref _pooledCount);
            else
                pending = new PendingAdd();
            (pending._storage, pending._state, pending._done) = (storage, state, done);
            (pending._ledgerId, pending._entryId, pending._lastAddConfirmed, pending._recovery, pending._start) = (ledgerId, entryId, lastAddConfirmed, recovery, start);
            return pending;
        }

        /// <summary>Both cache halves are full: waits for flushes until the add fits (back-pressure on writers), then journals it.</summary>
        public async Task AddWhenCacheHasRoomAsync(uint digest, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            WriteCache cache;
            ReadOnlyMemory<byte> record;
            try
            {
                do
                {
                    await _storage.FlushAsync(cancellationToken).ConfigureAwait(false);
                    lock (_storage._cacheLock)
                    {
                        cache = _storage._active;
                        if (cache.TryPutAdd(_ledgerId, _entryId, _lastAddConfirmed, digest, payload.Span, out record))
                            _storage.WantFlushIfHalfFull();
                    }
                }
                while (record.IsEmpty);
            }
            catch (Exception e)
            {
                Finish(default, e);
                return;
            }
            Journal(cache, record, cancellationToken);
        }

        /// <summary>Appends the record (in <paramref name="cache"/>'s segment) to the journal; <see cref="OnJournaled"/> follows.</summary>
        public void Journal(WriteCache cache, ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
        {
            _cache = cache;
            try
            {
                // Awaited once, through the awaiter: OnJournaled reads its result.
#pragma warning disable CA2012
                _journaled = _storage._journal.AppendAsync(record, continueOnWriter: true, cancellationToken).ConfigureAwait(false).GetAwaiter();
#pragma warning restore CA2012
            }
            catch (Exception e)
            {
                cache.Journaled();
                Finish(default, e);
                return;
            }
            if (_journaled.IsCompleted)
                OnJournaled();
            else
                _journaled.UnsafeOnCompleted(_onJournaled);
        }

        private void OnJournaled()
        {
            Exception? error = null;
            try
            {
                _journaled.GetResult();
            }
            catch (Exception e)
            {
                error = e;
            }
            _journaled = default;
            _cache.Journaled();
            if (error is not null)
            {
                Finish(default, error);
                return;
            }
            _storage._instrumentation.AddLatency.Record(Stopwatch.GetElapsedTime(_start).TotalSeconds);
            // Checked again, atomically with counting the entry: a fence answered while this add waited
            // (for room in the cache, for the journal) did not count it, so it must not be acknowledged.
            // The journaled copy is harmless: an entry never acknowledged may or may not survive.
            Finish(_state.TryAdd(_entryId, _lastAddConfirmed, _recovery) ? StorageResult.Ok : StorageResult.Fenced, null);
        }

        /// <summary>Returns this to the pool, then tells the caller.</summary>
        private void Finish(StorageResult result, Exception? error)
        {
            var (done, ledgerId, entryId) = (_done, _ledgerId, _entryId);
            (_storage, _state, _cache, _done) = (null!, null!, null!, null!);
            if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
                Pool.Enqueue(this);
            else
                Interlocked.Decrement(ref _pooledCount);
            done.Completed(ledgerId, entryId, result, error);
        }
    }

    /// <summary>What <see cref="AddAsync"/> returns: a pooled awaitable completed by the add, back in the pool once awaited.</summary>
    private sealed class AddAwaitable : IValueTaskSource<StorageResult>, IAddCompletion
    {
        private const int MaxPooled = 16384;

        private static readonly ConcurrentQueue<AddAwaitable> Pool = new();
        private static int _pooledCount;

        // Completed on the thread pool (the journal's completion already left its writer), so the awaiter may continue inline.
        private ManualResetValueTaskSourceCore<StorageResult> _core;

        public short Version => _core.Version;

        public static AddAwaitable Rent()
        {
            if (Pool.TryDequeue(out var awaitable))
            {
                Interlocked.Decrement(ref _pooledCount);
                return awaitable;
            }
            return new AddAwaitable();
        }

        public void Completed(long ledgerId, long entryId, StorageResult result, Exception? error)
        {
            if (error is null)
                _core.SetResult(result);
            else
                _core.SetException(error);
        }

        public StorageResult GetResult(short token)
        {
            try
            {
                return _core.GetResult(token);
            }
            finally
            {
                _core.Reset();
                if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
                    Pool.Enqueue(this);
                else
                    Interlocked.Decrement(ref _pooledCount);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _core.OnCompleted(continuation, state, token, flags);
    }
}
