using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>The last reader made of the ledger being written (<see cref="TailReader"/>).</summary>
    private LedgerReader? _tailReader;

    /// <summary>
    /// Up to <paramref name="maxEntries"/> confirmed entries starting at <paramref name="from"/>, in
    /// order and across ledgers, from the entry cache when there, else from the bookies. Empty when
    /// <paramref name="from"/> is past the last confirmed entry.
    /// </summary>
    public ValueTask<IReadOnlyList<ManagedEntry>> ReadEntriesAsync(Position from, int maxEntries, CancellationToken cancellationToken = default)
        => ReadEntriesAsync(from, maxEntries, cacheReads: false, cancellationToken);

    /// <summary>
    /// Reads up to <paramref name="maxEntries"/> confirmed entries from <paramref name="from"/> into the entry cache (those not
    /// there yet), so that a reader reading them next takes them from memory: a consumer catching up then gets its next entries
    /// without waiting for storage once it grants permits again.
    /// </summary>
    public async Task PrefetchAsync(Position from, int maxEntries, CancellationToken cancellationToken = default)
        => await ReadEntriesAsync(from, maxEntries, cacheReads: true, cancellationToken).ConfigureAwait(false);

    private long _entriesReadAhead;

    /// <summary>Entries <see cref="PrefetchAsync"/> read from storage into the cache.</summary>
    public long EntriesReadAhead => Interlocked.Read(ref _entriesReadAhead);

    private async ValueTask<IReadOnlyList<ManagedEntry>> ReadEntriesAsync(Position from, int maxEntries, bool cacheReads, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxEntries);
        var result = new List<ManagedEntry>(Math.Min(maxEntries, 256));
        var position = from;
        while (result.Count < maxEntries)
        {
            LedgerSlot slot;
            LedgerWriter? writer;
            long last;
            lock (_lock)
            {
                if (_terminal is ManagedLedgerClosedException closed)
                    throw Copy(closed);
                position = SettleLocked(position);
                if (position > _lastConfirmed)
                    break;
                var found = FindLocked(position.LedgerId);
                if (found is null || position.EntryId >= found.Entries)
                    break;
                slot = found;
                writer = _current?.Slot == slot ? _current.Writer : null;
                last = Math.Min(slot.Entries - 1, position.EntryId + (maxEntries - result.Count) - 1);
            }
            await ReadRangeAsync(slot, writer, position.EntryId, last, result, cacheReads, cancellationToken).ConfigureAwait(false);
            position = new Position(slot.LedgerId, last + 1);
        }
        return result;
    }

    /// <summary>
    /// Entries <paramref name="first"/> … <paramref name="last"/> of one ledger: cached ones from the
    /// cache, runs of the others from the bookies, or from the object store once the bookies' copy
    /// is deleted (or cannot be read) after an offload. What is read while other cursors read this
    /// managed ledger is cached, so that subscriptions reading the same backlog share one read.
    /// </summary>
    private async Task ReadRangeAsync(LedgerSlot slot, LedgerWriter? writer, long first, long last, List<ManagedEntry> result, bool cacheReads, CancellationToken cancellationToken)
    {
        var ledgerId = slot.LedgerId;
        var entryId = first;
        long hits = 0;
        while (entryId <= last)
        {
            var taken = _cache.TakeRun(ledgerId, entryId, last, result);
            entryId += taken;
            hits += taken;
            if (entryId > last)
                break;
            var missEnd = _cache.MissEnd(ledgerId, entryId, last);
            _instrumentation.CacheMisses.Add(missEnd - entryId + 1);
            var count = result.Count;
            if (slot.BookieDeleted)
            {
                await ReadOffloadedAsync(slot, entryId, missEnd, result, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                try
                {
                    var reader = writer is not null ? TailReader(writer, missEnd) : await GetReaderAsync(ledgerId, cancellationToken).ConfigureAwait(false);
                    await foreach (var entry in reader.ReadAsync(entryId, missEnd, cancellationToken).ConfigureAwait(false))
                        result.Add(new ManagedEntry(new Position(ledgerId, entry.EntryId), entry.Payload));
                }
                catch (Exception e) when (e is LedgerException or ManagedLedgerException && slot.IsOffloaded)
                {
                    // The bookies' copy is gone or unreadable, but the objects hold the ledger.
                    var resume = entryId + (result.Count - count);
                    await ReadOffloadedAsync(slot, resume, missEnd, result, cancellationToken).ConfigureAwait(false);
                }
                catch (LedgerException e)
                {
                    throw new ManagedLedgerException($"Managed ledger {Name}: reading entries {ledgerId}:{entryId}…{missEnd} failed: {e.Message}", e);
                }
            }
            if (cacheReads)
                Interlocked.Add(ref _entriesReadAhead, result.Count - count);
            if (cacheReads || SharesReads)
                _cache.PutRead(result, count);
            entryId = missEnd + 1;
        }
        // A read-ahead's cached entries are counted when a reader takes them.
        if (hits > 0 && !cacheReads)
            _instrumentation.CacheHits.Add(hits);
    }

    /// <summary>Whether entries read from storage are worth caching: another cursor may read them next.</summary>
    private bool SharesReads
    {
        get
        {
            lock (_lock)
                return _cursors.Count > 1;
        }
    }

    /// <summary>
    /// A reader of the ledger being written that may read up to <paramref name="lastEntryId"/>: the last one made
    /// when its LAC reaches that far (a reader knows every segment up to its LAC, so it stays valid), a new one
    /// otherwise. Saves building a reader on every cache miss of a reader that trails the writer.
    /// </summary>
    private LedgerReader TailReader(LedgerWriter writer, long lastEntryId)
    {
        var reader = Volatile.Read(ref _tailReader);
        if (reader is not null && reader.LedgerId == writer.LedgerId && reader.LastAddConfirmed >= lastEntryId)
            return reader;
        reader = writer.CreateReader();
        Volatile.Write(ref _tailReader, reader);
        return reader;
    }

    /// <summary>A reader of a closed ledger, opened once and shared (recovering it first if its close did not complete).</summary>
    private async Task<LedgerReader> GetReaderAsync(long ledgerId, CancellationToken cancellationToken)
    {
        Task<LedgerReader> opening;
        lock (_lock)
        {
            if (!_readers.TryGetValue(ledgerId, out opening!) || opening.IsFaulted || opening.IsCanceled)
            {
                // Started off the lock: opening may run synchronously for a while.
                opening = Task.Run(() => _client.OpenLedgerAsync(ledgerId, recovery: true, CancellationToken.None));
                _readers[ledgerId] = opening;
            }
        }
        try
        {
            return await opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is LedgerException or MetadataException)
        {
            throw new ManagedLedgerException($"Managed ledger {Name}: ledger {ledgerId} could not be opened for reading: {e.Message}", e);
        }
    }

    /// <summary>Completes once an entry after <paramref name="position"/> is confirmed (at once if one is).</summary>
    public async ValueTask WaitForEntriesAfterAsync(Position position, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task signal;
            lock (_lock)
            {
                if (NextLocked(position) <= _lastConfirmed)
                    return;
                if (_terminal is { } terminal)
                    throw Copy(terminal);
                signal = _entryConfirmed.Task;
            }
            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Drops cached entries older than <see cref="ManagedLedgerOptions.EntryCacheMaxAge"/> (the broker calls this periodically, so idle topics free their cache).</summary>
    public void EvictCache() => _cache.EvictExpired();
}
