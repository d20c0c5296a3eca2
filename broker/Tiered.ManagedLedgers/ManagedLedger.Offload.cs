using System.Runtime.CompilerServices;
using Tiered.Ledger;
using Tiered.Offloader;
using Tiered.Offloader.Stored;

namespace Tiered.ManagedLedgers;

/// <summary>What an offload did: ledgers and bytes moved, and the first position still only on the bookies.</summary>
public readonly record struct OffloadOutcome(int LedgersOffloaded, long BytesOffloaded, Position FirstUnoffloaded);

public sealed partial class ManagedLedger
{
    private readonly SemaphoreSlim _offloadMutex = new(1, 1);

    /// <summary>The first entry of the oldest ledger that is not offloaded (the current ledger at the latest).</summary>
    public Position FirstUnoffloadedPosition
    {
        get
        {
            lock (_lock)
            {
                foreach (var slot in _ledgers)
                {
                    if (!slot.IsOffloaded)
                        return new Position(slot.LedgerId, 0);
                }
                return NextLocked(_lastConfirmed);
            }
        }
    }

    /// <summary>
    /// Offloads, oldest first, every closed ledger whose entries are all at or before
    /// <paramref name="upTo"/> and that is not offloaded yet, to <paramref name="target"/>. Each
    /// ledger is recorded as started (its run id) before any object is written, and as complete
    /// only once its objects are verified; until then it is read from the bookies. One offload
    /// runs at a time (a second call waits for the first), working on
    /// <see cref="TieredStorageOptions.ConcurrentLedgerOffloads"/> ledgers at once.
    /// </summary>
    /// <exception cref="ManagedLedgerException">Offload is not configured, or a ledger could not be offloaded (those that completed stay offloaded).</exception>
    public async Task<OffloadOutcome> OffloadAsync(Position upTo, StoreAddress target, IProgress<long>? bytesRead = null, CancellationToken cancellationToken = default)
    {
        var storage = _tieredStorage
            ?? throw new ManagedLedgerException($"Managed ledger {Name}: offload is not configured on this broker (no tiered storage).");
        ThrowIfStopped();
        await _offloadMutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            int count = 0;
            long bytes = 0;
            // A few ledgers at a time, oldest first: one's upload and verification overlap the next one's encoding.
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = storage.Options.ConcurrentLedgerOffloads, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(OffloadCandidates(upTo), parallel, async (ledgerId, ct) =>
            {
                if (await OffloadLedgerAsync(storage, ledgerId, target, bytesRead, ct).ConfigureAwait(false) is { } size)
                {
                    Interlocked.Increment(ref count);
                    Interlocked.Add(ref bytes, size);
                }
            }).ConfigureAwait(false);
            return new OffloadOutcome(count, bytes, FirstUnoffloadedPosition);
        }
        finally
        {
            _offloadMutex.Release();
        }
    }

    /// <summary>
    /// Pulsar's offload threshold: keeps about <paramref name="thresholdBytes"/> of the newest data
    /// on the bookies and offloads the closed ledgers beyond it (0: every closed ledger).
    /// </summary>
    public Task<OffloadOutcome> OffloadBeyondThresholdAsync(long thresholdBytes, StoreAddress target, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(thresholdBytes);
        Position? upTo = null;
        lock (_lock)
        {
            long newer = 0;
            for (var i = _ledgers.Length - 1; i >= 0; i--)
            {
                var slot = _ledgers[i];
                newer += slot.Size;
                if (newer > thresholdBytes && slot.IsClosed && _current?.Slot != slot)
                {
                    upTo = new Position(slot.LedgerId, slot.Entries - 1);
                    break;
                }
            }
        }
        return upTo is { } position
            ? OffloadAsync(position, target, cancellationToken: cancellationToken)
            : Task.FromResult(new OffloadOutcome(0, 0, FirstUnoffloadedPosition));
    }

    /// <summary>
    /// Deletes from the bookies the ledgers offloaded at least <paramref name="deletionLag"/> ago;
    /// their entries are read from the objects from then on. The ledger is recorded as deleted
    /// from the bookies before it is deleted, so no read is ever sent to a copy that is gone.
    /// </summary>
    public async Task<int> DeleteOffloadedFromBookiesAsync(TimeSpan deletionLag, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        var cutoff = NowMs - (long)deletionLag.TotalMilliseconds;
        List<long> due;
        lock (_lock)
            due = [.. _ledgers.Where(s => s.IsOffloaded && !s.BookieDeleted && s.Offload!.CompletedMs <= cutoff).Select(s => s.LedgerId)];
        var deleted = 0;
        foreach (var ledgerId in due)
        {
            LedgerSlot? marked = null;
            await ReplaceLedgerAsync(ledgerId, s => s.IsOffloaded && !s.BookieDeleted ? marked = s.With(s.Offload, bookieDeleted: true) : null, cancellationToken).ConfigureAwait(false);
            if (marked is null)
                continue;
            lock (_lock)
                _readers.Remove(ledgerId);
            await DeleteLedgerQuietlyAsync(ledgerId).ConfigureAwait(false);
            ManagedLedgerLog.BookieCopyDeleted(_logger, Name, ledgerId, TieredStorage.Describe(marked.Offload!.Store));
            deleted++;
        }
        return deleted;
    }

    private List<long> OffloadCandidates(Position upTo)
    {
        lock (_lock)
        {
            return [.. _ledgers
                .Where(s => s.IsClosed && _current?.Slot != s && s.Entries > 0 && !s.IsOffloaded && new Position(s.LedgerId, s.Entries - 1) <= upTo)
                .Select(s => s.LedgerId)];
        }
    }

    /// <summary>Offloads one ledger; its ledger bytes, or null when it is no longer listed or already offloaded.</summary>
    private async Task<long?> OffloadLedgerAsync(TieredStorage storage, long ledgerId, StoreAddress target, IProgress<long>? bytesRead, CancellationToken cancellationToken)
    {
        var runId = Guid.NewGuid().ToString("N");
        LedgerSlot? started = null;
        OffloadedLedger? previous = null;
        await ReplaceLedgerAsync(ledgerId, s =>
        {
            if (s.IsOffloaded)
                return null;
            previous = s.Offload;
            return started = s.With(new OffloadedLedger { RunId = runId, Store = target }, bookieDeleted: false);
        }, cancellationToken).ConfigureAwait(false);
        if (started is null)
            return null;
        try
        {
            if (previous is not null)
                await DeleteLeftoversQuietlyAsync(storage, previous.Store, ledgerId, keepRunId: null).ConfigureAwait(false);
            var reader = await GetReaderAsync(ledgerId, cancellationToken).ConfigureAwait(false);
            var run = new OffloadRun(target, Name, ledgerId, started.Entries - 1, runId);
            var offloaded = await storage.OffloadLedgerAsync(run, ReadForOffloadAsync(reader, started.Entries - 1, cancellationToken), bytesRead, cancellationToken).ConfigureAwait(false);
            offloaded.CompletedMs = NowMs;
            LedgerSlot? completed = null;
            await ReplaceLedgerAsync(ledgerId, s => s.Offload?.RunId == runId ? completed = s.With(offloaded, bookieDeleted: false) : null, cancellationToken).ConfigureAwait(false);
            if (completed is null)
            {
                // Trimmed meanwhile: these objects belong to nothing.
                await DeleteLeftoversQuietlyAsync(storage, target, ledgerId, keepRunId: null).ConfigureAwait(false);
                return null;
            }
            ManagedLedgerLog.LedgerOffloaded(_logger, Name, ledgerId, TieredStorage.Describe(target));
            await DeleteLeftoversQuietlyAsync(storage, target, ledgerId, keepRunId: runId).ConfigureAwait(false);
            return offloaded.LedgerBytes;
        }
        catch (Exception e) when (e is not ManagedLedgerFencedException)
        {
            ManagedLedgerLog.OffloadFailed(_logger, Name, ledgerId, e);
            await DeleteLeftoversQuietlyAsync(storage, target, ledgerId, keepRunId: null).ConfigureAwait(false);
            var retry = e is OffloadException { IsRetryable: true } or ObjectStoreException { IsRetryable: true } ? " It can be retried; the ledger stays on the bookies." : " The ledger stays on the bookies.";
            throw new ManagedLedgerException($"Managed ledger {Name}: offloading ledger {ledgerId} to {TieredStorage.Describe(target)} failed: {e.Message}{retry}", e);
        }
    }

    /// <summary>Deletes the objects of runs of the ledger other than <paramref name="keepRunId"/>; a failure is logged (the next run or the trim tries again).</summary>
    private async Task DeleteLeftoversQuietlyAsync(TieredStorage storage, StoreAddress store, long ledgerId, string? keepRunId)
    {
        try
        {
            await storage.DeleteLeftoversAsync(store, Name, ledgerId, keepRunId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ManagedLedgerLog.DeleteOffloadedFailed(_logger, Name, ledgerId, e);
        }
    }

    private static async IAsyncEnumerable<OffloadEntry> ReadForOffloadAsync(LedgerReader reader, long lastEntryId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entry in reader.ReadAsync(0, lastEntryId, cancellationToken).ConfigureAwait(false))
            yield return new OffloadEntry(entry.EntryId, entry.Payload);
    }

    /// <summary>Stores the ledger list with ledger <paramref name="ledgerId"/> replaced by what <paramref name="change"/> makes of it (null: no change, or not listed).</summary>
    private Task<bool> ReplaceLedgerAsync(long ledgerId, Func<LedgerSlot, LedgerSlot?> change, CancellationToken cancellationToken)
        => UpdateLedgersAsync(ledgers =>
        {
            var index = Array.FindIndex(ledgers, s => s.LedgerId == ledgerId);
            if (index < 0 || change(ledgers[index]) is not { } replaced)
                return null;
            var updated = (LedgerSlot[])ledgers.Clone();
            updated[index] = replaced;
            return updated;
        }, cancellationToken);

    /// <summary>Reads offloaded entries into <paramref name="result"/>; a store failure becomes a ManagedLedgerException that says whether to retry.</summary>
    private async Task ReadOffloadedAsync(LedgerSlot slot, long first, long last, List<ManagedEntry> result, CancellationToken cancellationToken)
    {
        var storage = _tieredStorage
            ?? throw new ManagedLedgerException($"Managed ledger {Name}: ledger {slot.LedgerId} is offloaded, but this broker has no tiered storage configured to read it.");
        try
        {
            await foreach (var entry in storage.ReadAsync(slot.Offload!, first, last, cancellationToken).ConfigureAwait(false))
                result.Add(new ManagedEntry(new Position(slot.LedgerId, entry.EntryId), entry.Data));
        }
        catch (ObjectStoreException e)
        {
            throw new ManagedLedgerException($"Managed ledger {Name}: reading offloaded entries {slot.LedgerId}:{first}…{last} from {TieredStorage.Describe(slot.Offload!.Store)} failed: {e.Message}"
                + (e.IsRetryable ? " Retry when the object store is reachable again; nothing was deleted." : ""), e);
        }
        catch (InvalidDataException e)
        {
            throw new ManagedLedgerException($"Managed ledger {Name}: an object of offloaded ledger {slot.LedgerId} in {TieredStorage.Describe(slot.Offload!.Store)} is damaged "
                + $"(it verified when written): {e.Message}", e);
        }
    }

    /// <summary>Deletes a ledger no longer listed: its bookie copy (unless already deleted) and its offloaded objects. Failures are logged.</summary>
    private async Task DeleteLedgerDataAsync(LedgerSlot slot)
    {
        if (!slot.BookieDeleted)
            await DeleteLedgerQuietlyAsync(slot.LedgerId).ConfigureAwait(false);
        if (slot.Offload is not { } offload || _tieredStorage is not { } storage)
            return;
        try
        {
            await storage.DeleteAsync(offload, Name, slot.LedgerId).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ManagedLedgerLog.DeleteOffloadedFailed(_logger, Name, slot.LedgerId, e);
        }
    }
}
