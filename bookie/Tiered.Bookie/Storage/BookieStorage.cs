using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Tiered.Bookie.Storage;

/// <summary>Why an add or a read was refused; maps one to one to the wire codes of bookie.proto.</summary>
internal enum StorageResult
{
    Ok,
    Fenced,
    NoSuchEntry,
    NoSuchLedger,
    ReadOnly,
}

/// <summary>
/// The bookie's storage, shaped like BookKeeper's DbLedgerStorage: an add is copied into the
/// write cache and appended to the journal, and acknowledged once the journal's group commit
/// has fsynced it. A flush, every second or when the cache is half full, writes the cache
/// sorted by ledger into the entry log, records the locations in the RocksDB index, makes both
/// durable, and only then moves the journal checkpoint forward, so at every instant each
/// acknowledged entry is in the journal after the checkpoint or durably in the entry logs.
/// On start, the journal after the checkpoint is replayed into the cache.
/// </summary>
internal sealed partial class BookieStorage : IAsyncDisposable
{
    private const string CheckpointFile = "checkpoint";

    private readonly string _dataDir;
    private readonly Journal _journal;
    private readonly EntryLogger _entryLog;
    private readonly LedgerIndex _index;
    private readonly ILogger _logger;
    private readonly Instrumentation _instrumentation;
    private bool _ownsInstrumentation;
    private readonly ConcurrentDictionary<long, LedgerState> _ledgers = new();
    private readonly object _cacheLock = new();
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private readonly long _cacheHalf;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _flushWanted = new(0, int.MaxValue);
    private WriteCache _active;
    private WriteCache _flushing;
    private int _flushSignalled; // 1 once the filling cache asked for a flush; reset when the caches swap
    private Task _flushLoop = Task.CompletedTask;
    private Task _gcLoop = Task.CompletedTask;

    private BookieStorage(string dataDir, Journal journal, EntryLogger entryLog, LedgerIndex index, long writeCacheBytes, ILogger logger, Instrumentation instrumentation)
    {
        (_dataDir, _journal, _entryLog, _index, _logger, _instrumentation) = (dataDir, journal, entryLog, index, logger, instrumentation);
        _cacheHalf = Math.Max(WriteCache.SegmentBytes * 2L, writeCacheBytes / 2);
        _active = new WriteCache(_cacheHalf);
        _flushing = new WriteCache(_cacheHalf);
    }

    /// <summary>When true, adds are refused with <see cref="StorageResult.ReadOnly"/> (disk nearly full).</summary>
    public bool ReadOnly { get; set; }

    public int LedgerCount => _ledgers.Count;

    /// <summary>Bytes held by both halves of the write cache (the one filling and the one flushing).</summary>
    public long WriteCacheBytes => Volatile.Read(ref _active).Bytes + Volatile.Read(ref _flushing).Bytes;

    public Journal Journal => _journal;

    public static async Task<BookieStorage> OpenAsync(string dataDir, string journalDir, long writeCacheBytes, ILogger logger,
        CancellationToken cancellationToken = default, long maxEntryLogBytes = EntryLoggerOptions.DefaultMaxLogBytes,
        long journalPreallocationBytes = JournalOptions.DefaultMaxFileBytes, JournalTestHooks? journalHooks = null, Instrumentation? instrumentation = null)
    {
        var ownsInstrumentation = instrumentation is null;
        instrumentation ??= new Instrumentation(meterFactory: null);
        Directory.CreateDirectory(dataDir);
        var index = LedgerIndex.Open(Path.Combine(dataDir, "index"));
        var entryLog = new EntryLogger(new EntryLoggerOptions(Path.Combine(dataDir, "entry-logs"), maxEntryLogBytes));
        var journal = Journal.Open(new JournalOptions(journalDir) { PreallocationBytes = journalPreallocationBytes }, journalHooks, instrumentation);
        var storage = new BookieStorage(dataDir, journal, entryLog, index, writeCacheBytes, logger, instrumentation);
        foreach (var ledgerId in index.Ledgers())
        {
            var info = index.GetInfo(ledgerId) ?? LedgerInfo.Empty;
            storage._ledgers[ledgerId] = new LedgerState(info.Fenced, info.LastAddConfirmed, index.LastEntryId(ledgerId) ?? -1);
        }
        await storage.ReplayJournalAsync(cancellationToken).ConfigureAwait(false);
        storage._ownsInstrumentation = ownsInstrumentation;
        instrumentation.Track(storage);
        storage._flushLoop = BackgroundThread.Start("bookie-flush", storage.FlushLoop);
        storage._gcLoop = Task.Run(storage.GcLoopAsync, CancellationToken.None);
        return storage;
    }

    /// <summary>Asks the flush loop for one flush when the filling cache is half full (once per cache, not once per add). Call under the cache lock.</summary>
    private void WantFlushIfHalfFull()
    {
        if (_flushSignalled == 0 && _active.Bytes >= _cacheHalf / 2)
        {
            _flushSignalled = 1;
            _flushWanted.Release();
        }
    }

    private LedgerState State(long ledgerId) => _ledgers.GetOrAdd(ledgerId, static _ => new LedgerState(false, -1, -1));

    /// <param name="replaying">During journal replay, the record being replayed: a flush may only checkpoint up to it.</param>
    private async ValueTask PutInCacheAsync(long ledgerId, long entryId, ReadOnlyMemory<byte> storedEntry, JournalPosition? replaying, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_cacheLock)
            {
                if (_active.TryPut(ledgerId, entryId, storedEntry.Span))
                {
                    WantFlushIfHalfFull();
                    return;
                }
            }
            // Both halves are full: wait for the flush to make room (back-pressure on writers).
            await FlushAsync(cancellationToken, replaying).ConfigureAwait(false);
        }
    }

    /// <summary>Fences a ledger durably: after this returns, adds without the recovery flag fail.</summary>
    public async ValueTask<(long LastAddConfirmed, long LastEntryId)> FenceAsync(long ledgerId, CancellationToken cancellationToken)
    {
        var state = State(ledgerId);
        if (!state.Fenced)
            await _journal.AppendAsync(BookieRecord.Fence(ledgerId), cancellationToken).ConfigureAwait(false);
        // The flag and the answer in one step: every add is either counted here or refused afterwards.
        return state.FenceAndRead();
    }

    /// <summary>The stored entry ([LAC][digest][payload]), or why there is none.</summary>
    public (StorageResult Result, byte[]? StoredEntry) Read(long ledgerId, long entryId)
    {
        var start = Stopwatch.GetTimestamp();
        var read = ReadEntry(ledgerId, entryId);
        if (read.Result == StorageResult.Ok)
            _instrumentation.ReadLatency.Record(Stopwatch.GetElapsedTime(start).TotalSeconds);
        return read;
    }

    private (StorageResult Result, byte[]? StoredEntry) ReadEntry(long ledgerId, long entryId)
    {
        if (!_ledgers.ContainsKey(ledgerId))
            return (StorageResult.NoSuchLedger, null);
        byte[]? cached;
        lock (_cacheLock)
            cached = _active.Get(ledgerId, entryId) ?? _flushing.Get(ledgerId, entryId);
        if (cached is not null)
            return (StorageResult.Ok, cached);
        for (var attempt = 0; ; attempt++)
        {
            if (!_index.TryGet(ledgerId, entryId, out var location))
                return (StorageResult.NoSuchEntry, null);
            try
            {
                return (StorageResult.Ok, _entryLog.Read(location, ledgerId, entryId));
            }
            catch (FileNotFoundException) when (attempt == 0)
            {
                // Garbage collection moved the entry and deleted its old log in between: look again.
            }
        }
    }

    public bool TryGetLedger(long ledgerId, out long lastAddConfirmed, out long lastEntryId, out bool fenced)
    {
        if (_ledgers.TryGetValue(ledgerId, out var state))
        {
            (lastAddConfirmed, lastEntryId, fenced) = (state.LastAddConfirmed, state.LastEntryId, state.Fenced);
            return true;
        }
        (lastAddConfirmed, lastEntryId, fenced) = (-1, -1, false);
        return false;
    }

    /// <summary>Waits until the ledger's LAC is greater than <paramref name="previous"/> or the timeout passes; returns the LAC.</summary>
    public async Task<long> WaitForLacAsync(long ledgerId, long previous, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var state = State(ledgerId);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (state.LastAddConfirmed <= previous && !cts.IsCancellationRequested)
            await state.Changed.WaitAsync(cts.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        return state.LastAddConfirmed;
    }

    /// <summary>
    /// Forgets a ledger; its bytes in the entry logs are reclaimed by garbage collection. Takes the
    /// flush lock so that neither a flush nor a compaction writes its index entries back afterwards.
    /// </summary>
    public async Task DeleteLedgerAsync(long ledgerId, CancellationToken cancellationToken)
    {
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _ledgers.TryRemove(ledgerId, out _);
            lock (_cacheLock)
            {
                _active.RemoveLedger(ledgerId);
                _flushing.RemoveLedger(ledgerId);
            }
            _index.DeleteLedger(ledgerId);
        }
        finally
        {
            _flushLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _instrumentation.Untrack(this);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _flushLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _gcLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        await _journal.DisposeAsync().ConfigureAwait(false);
        _entryLog.Dispose();
        _index.Dispose();
        _active.Dispose();
        _flushing.Dispose();
        _stop.Dispose();
        if (_ownsInstrumentation)
            _instrumentation.Dispose();
    }

    /// <summary>Per-ledger state kept in memory: fenced flag, LAC, highest entry, and a signal for LAC long-polls.</summary>
    private sealed class LedgerState(bool fenced, long lastAddConfirmed, long lastEntryId)
    {
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Fenced { get; private set; } = fenced;
        public long LastAddConfirmed { get; private set; } = lastAddConfirmed;
        public long LastEntryId { get; private set; } = lastEntryId;
        public Task Changed => Volatile.Read(ref _changed).Task;

        public void Fence()
        {
            lock (this)
                Fenced = true;
        }

        /// <summary>Fences and reads the LAC and last entry at once: no add is counted after this answer.</summary>
        public (long LastAddConfirmed, long LastEntryId) FenceAndRead()
        {
            lock (this)
            {
                Fenced = true;
                return (LastAddConfirmed, LastEntryId);
            }
        }

        /// <summary>Counts a journaled entry (replay, recovery adds).</summary>
        public void Added(long entryId, long lastAddConfirmed) => TryAdd(entryId, lastAddConfirmed, recovery: true);

        /// <summary>Counts a journaled entry unless the ledger was fenced meanwhile (a recovery add is always counted).</summary>
        public bool TryAdd(long entryId, long lastAddConfirmed, bool recovery)
        {
            lock (this)
            {
                if (Fenced && !recovery)
                    return false;
                LastEntryId = Math.Max(LastEntryId, entryId);
                if (lastAddConfirmed <= LastAddConfirmed)
                    return true;
                LastAddConfirmed = lastAddConfirmed;
            }
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            return true;
        }
    }
}
