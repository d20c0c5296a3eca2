using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>
    /// Up to <paramref name="maxEntries"/> confirmed entries starting at <paramref name="from"/>, in
    /// order and across ledgers, from the entry cache when there, else from the bookies. Empty when
    /// <paramref name="from"/> is past the last confirmed entry.
    /// </summary>
    public async ValueTask<IReadOnlyList<ManagedEntry>> ReadEntriesAsync(Position from, int maxEntries, CancellationToken cancellationToken = default)
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
            await ReadRangeAsync(slot, writer, position.EntryId, last, result, cancellationToken).ConfigureAwait(false);
            position = new Position(slot.LedgerId, last + 1);
        }
        return result;
    }

    /// <summary>
    /// Entries <paramref name="first"/> … <paramref name="last"/> of one ledger: cached ones from the
    /// cache, runs of the others from the bookies, or from the object store once the bookies' copy
    /// is deleted (or cannot be read) after an offload.
    /// </summary>
    private async Task ReadRangeAsync(LedgerSlot slot, LedgerWriter? writer, long first, long last, List<ManagedEntry> result, CancellationToken cancellationToken)
    {
        var ledgerId = slot.LedgerId;
        var entryId = first;
        long hits = 0;
        while (entryId <= last)
        {
            var position = new Position(ledgerId, entryId);
            if (_cache.TryGet(position, out var cached))
            {
                result.Add(new ManagedEntry(position, cached));
                entryId++;
                hits++;
                continue;
            }
            var missEnd = entryId;
            while (missEnd < last && !_cache.TryGet(new Position(ledgerId, missEnd + 1), out _))
                missEnd++;
            _instrumentation.CacheMisses.Add(missEnd - entryId + 1);
            if (slot.BookieDeleted)
            {
                await ReadOffloadedAsync(slot, entryId, missEnd, result, cancellationToken).ConfigureAwait(false);
                entryId = missEnd + 1;
                continue;
            }
            var count = result.Count;
            try
            {
                var reader = writer is not null ? writer.CreateReader() : await GetReaderAsync(ledgerId, cancellationToken).ConfigureAwait(false);
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
            entryId = missEnd + 1;
        }
        if (hits > 0)
            _instrumentation.CacheHits.Add(hits);
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
