using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>Waits for pending adds, stores the cursors, closes the current ledger.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!await StopAddsAsync().ConfigureAwait(false))
            return;
        foreach (var cursor in Cursors)
            await cursor.FlushAsync().ConfigureAwait(false);

        OpenLedger? current;
        bool fenced;
        lock (_lock)
        {
            current = _current;
            _current = null;
            fenced = _terminal is ManagedLedgerFencedException;
        }
        if (current is not null)
        {
            if (fenced)
            {
                await current.Writer.DisposeAsync().ConfigureAwait(false);
            }
            else if (await CloseLedgerAsync(current).ConfigureAwait(false))
            {
                try
                {
                    // The closed ledger's counts, so the next owner need not recover it; an empty one is dropped.
                    await UpdateLedgersAsync(ledgers => [.. ledgers.Where(l => l != current.Slot || l.Entries > 0)], CancellationToken.None).ConfigureAwait(false);
                    if (current.Slot.Entries == 0)
                        await DeleteLedgerQuietlyAsync(current.Slot.LedgerId).ConfigureAwait(false);
                }
                catch (ManagedLedgerException)
                {
                    // Fenced meanwhile: the next owner recovers the ledger.
                }
                catch (MetadataException)
                {
                    // Unreachable: the next owner recovers the ledger.
                }
            }
        }
        lock (_lock)
        {
            _terminal ??= new ManagedLedgerClosedException($"Managed ledger {Name} is closed.");
            _entryConfirmed.TrySetException(Copy(_terminal));
        }
        ManagedLedgerLog.Closed(_logger, Name);
    }

    /// <summary>
    /// Refuses new adds and waits for the accepted ones (and a rollover) to finish. False when the
    /// instance was already closed.
    /// </summary>
    private async Task<bool> StopAddsAsync()
    {
        Task drained;
        lock (_lock)
        {
            if (_closing || _terminal is ManagedLedgerClosedException)
                return false;
            _closing = true;
            _addsDrained ??= NewSignal();
            SignalIfAddsDrained();
            drained = _addsDrained.Task;
        }
        await drained.ConfigureAwait(false);
        Task? rollover;
        lock (_lock)
            rollover = _rollover;
        if (rollover is not null)
            await rollover.ConfigureAwait(false);
        return true;
    }

    /// <summary>Deletes every ledger, cursor and the stored state. The instance is closed afterwards.</summary>
    public async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        await StopAddsAsync().ConfigureAwait(false);
        OpenLedger? current;
        ManagedCursor[] cursors;
        lock (_lock)
        {
            _terminal ??= new ManagedLedgerClosedException($"Managed ledger {Name} was deleted.");
            _entryConfirmed.TrySetException(Copy(_terminal));
            current = _current;
            _current = null;
            cursors = [.. _cursors.Values];
            _cursors.Clear();
            _activeCursors.Clear();
        }
        if (current is not null)
            await current.Writer.DisposeAsync().ConfigureAwait(false);
        foreach (var cursor in cursors)
            await cursor.CloseAsync().ConfigureAwait(false);
        var cursorsPath = StoredPaths.Cursors(Name);
        foreach (var segment in await _metadata.ListChildrenAsync(cursorsPath, cancellationToken: cancellationToken).ConfigureAwait(false))
            await _metadata.DeleteAsync($"{cursorsPath}/{segment}", cancellationToken: cancellationToken).ConfigureAwait(false);

        LedgerSlot[] ledgers;
        long version;
        lock (_lock)
            (ledgers, version) = (_ledgers, _infoVersion);
        foreach (var slot in ledgers)
            await DeleteLedgerDataAsync(slot).ConfigureAwait(false);
        try
        {
            await _metadata.DeleteAsync(_infoKey, version, cancellationToken).ConfigureAwait(false);
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            throw new ManagedLedgerFencedException($"Managed ledger {Name}: its stored state was changed by another owner; it was not deleted.", e);
        }
        _cache.Clear();
    }
}
