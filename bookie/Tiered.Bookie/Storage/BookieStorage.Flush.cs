using System.Buffers.Binary;
using Microsoft.Extensions.Logging;

namespace Tiered.Bookie.Storage;

internal sealed partial class BookieStorage
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(1);

    /// <summary>Test seam: runs at the start of every flush, with the flush lock held (a test holds flushes back with it).</summary>
    internal Func<ValueTask>? BeforeFlush { get; set; }

    /// <summary>Where a flush collects the entries' locations; kept between flushes (used under the flush lock only).</summary>
    private LedgerIndexEntry[] _locations = [];

    /// <summary>The checkpoint on disk: read at start, then the last one written (used under the flush lock only).</summary>
    private JournalPosition? _checkpoint;

    /// <summary>The flush thread's loop (<see cref="BackgroundThread"/>): a flush a second, or sooner when the write cache is half full.</summary>
    private void FlushLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _flushWanted.Wait(FlushInterval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                FlushAsync(_stop.Token).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or InvalidDataException or RocksDbSharp.RocksDbException)
            {
                // Nothing is lost: the journal still holds everything after the old checkpoint.
                LogMessages.FlushFailed(_logger, e);
            }
        }
    }

    /// <summary>
    /// Moves the write cache into the entry logs and the index, makes them durable, then
    /// advances the journal checkpoint. The checkpoint is the journal's durable end read
    /// before the caches are swapped: every add journaled before it was put in the cache first.
    /// An idle bookie's flush does nothing: with both caches empty and the journal where the last
    /// checkpoint left it, there is nothing to write and no checkpoint to move (no fsync every second).
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken, JournalPosition? checkpointAt = null)
    {
        await _flushLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (BeforeFlush is { } hook)
                await hook().ConfigureAwait(false);
            var checkpoint = checkpointAt ?? _journal.DurableEnd;
            if (checkpoint == _checkpoint && IsCacheEmpty())
            {
                // Idle: the segments both caches kept for the next round go, so an idle bookie holds no cache memory.
                lock (_cacheLock)
                {
                    _active.ReleaseIdleSegments();
                    _flushing.ReleaseIdleSegments();
                }
                return;
            }
            // Left over from a flush that failed: write it first, or the swap below would hide it
            // in the active cache while the checkpoint moves past it.
            if (_flushing.Count > 0)
                await WriteDurablyAsync(_flushing).ConfigureAwait(false);
            lock (_cacheLock)
            {
                (_active, _flushing) = (_flushing, _active);
                _flushSignalled = 0;
            }
            await WriteDurablyAsync(_flushing).ConfigureAwait(false);
            // An idle bookie's flushes change nothing: no fsyncs for them.
            if (checkpoint != _checkpoint)
                WriteCheckpoint(checkpoint);
        }
        finally
        {
            _flushLock.Release();
        }
    }

    /// <summary>
    /// Appends a cache to the entry log and the index, makes both durable, then empties the cache
    /// once the journal is done with every record it reads from the cache's segments.
    /// </summary>
    private async Task WriteDurablyAsync(WriteCache cache)
    {
        var count = cache.Count;
        if (count == 0)
        {
            _locations = []; // idle: hold no memory for flushes that may not come
        }
        else
        {
            if (_locations.Length < count)
                _locations = new LedgerIndexEntry[count + count / 4];
            var locations = _locations;
            var written = 0;
            cache.ForEachSorted((ledgerId, entryId, entry) =>
                locations[written++] = new LedgerIndexEntry(ledgerId, entryId, _entryLog.Append(ledgerId, entryId, entry)));
            _entryLog.Flush();
            _index.PutBatch(locations.AsSpan(0, written));
            var previous = -1L;
            for (var i = 0; i < written; i++)
            {
                // Sorted by ledger: each ledger's info once.
                var ledgerId = locations[i].LedgerId;
                if (ledgerId != previous && _ledgers.TryGetValue(ledgerId, out var state))
                    _index.SetInfo(ledgerId, new LedgerInfo(state.Fenced, state.LastAddConfirmed));
                previous = ledgerId;
            }
            _index.Flush();
        }
        // Adds put in this cache before the swap may still be queued in the journal, which frames them
        // from the cache's segments: the segments are reused only after that (one group commit at most).
        await cache.WhenJournaled().ConfigureAwait(false);
        lock (_cacheLock)
            cache.Clear();
    }

    /// <summary>Persists the checkpoint atomically (write, fsync, rename), then drops older journal files.</summary>
    private void WriteCheckpoint(JournalPosition checkpoint)
    {
        var path = Path.Combine(_dataDir, CheckpointFile);
        var temp = path + ".tmp";
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, checkpoint.FileId);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], checkpoint.Offset);
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        DirectorySync.Sync(_dataDir);
        _journal.Checkpoint(checkpoint);
        _checkpoint = checkpoint;
    }

    private bool IsCacheEmpty()
    {
        lock (_cacheLock)
            return _active.Count == 0 && _flushing.Count == 0;
    }

    private JournalPosition ReadCheckpoint()
    {
        var path = Path.Combine(_dataDir, CheckpointFile);
        if (!File.Exists(path))
            return JournalPosition.Start;
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 16)
            throw new InvalidDataException($"{path} is {bytes.Length} bytes, expected 16; the bookie's data directory is damaged.");
        return new JournalPosition(BinaryPrimitives.ReadInt64LittleEndian(bytes), BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8)));
    }

    /// <summary>Re-adds every journaled add and fence after the checkpoint (idempotent: a later flush rewrites them).</summary>
    private async Task ReplayJournalAsync(CancellationToken cancellationToken)
    {
        var from = ReadCheckpoint();
        _checkpoint = from;
        var adds = 0;
        foreach (var record in _journal.Replay(from))
        {
            var (kind, ledgerId, entryId) = BookieRecord.ReadHeader(record.Payload.Span);
            var state = State(ledgerId);
            if (kind == BookieRecord.FenceKind)
            {
                state.Fence();
                continue;
            }
            // The cache copies the entry, so the replay buffer (valid until the next record) is not kept.
            var stored = BookieRecord.StoredEntry(record.Payload);
            state.Added(entryId, BookieRecord.LastAddConfirmed(stored.Span));
            await PutInCacheAsync(ledgerId, entryId, stored, record.Position, cancellationToken).ConfigureAwait(false);
            adds++;
        }
        LogMessages.Replayed(_logger, adds, from.FileId, from.Offset);
    }
}
