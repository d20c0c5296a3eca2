using Tiered.Ledger;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>
    /// Closes the current ledger once its adds in flight are done, creates the next one and stores
    /// the list with compare-and-set. Adds arriving meanwhile stay queued, in order, and go to the
    /// new ledger. If no new ledger can be created the queued adds fail; the next add tries again,
    /// once the <see cref="LedgerCreationBackoff"/> allows.
    /// </summary>
    private async Task RolloverAsync()
    {
        OpenLedger? old;
        Task drained;
        lock (_lock)
        {
            old = _current;
            if (old is null || old.InFlight.Count == 0)
            {
                drained = Task.CompletedTask;
            }
            else
            {
                old.Drained ??= NewSignal();
                drained = old.Drained.Task;
            }
        }
        await drained.ConfigureAwait(false);

        if (old is not null && !await CloseLedgerAsync(old).ConfigureAwait(false))
            return;

        OpenLedger? next = null;
        Exception? failure = null;
        LedgerWriter? writer = null;
        try
        {
            writer = await _client.CreateLedgerAsync(_options.EnsembleSize, _options.WriteQuorum, _options.AckQuorum).ConfigureAwait(false);
            var slot = new LedgerSlot(writer.LedgerId, NowMs);
            await UpdateLedgersAsync(ledgers => [.. ledgers.Where(l => l != old?.Slot || l.Entries > 0), slot], CancellationToken.None).ConfigureAwait(false);
            next = new OpenLedger(writer, slot);
        }
        catch (ManagedLedgerFencedException)
        {
            if (writer is not null)
                await writer.DisposeAsync().ConfigureAwait(false);
            lock (_lock)
                _rollover = null;
            return;
        }
        catch (Exception e)
        {
            failure = e;
            ManagedLedgerLog.CreateLedgerFailed(_logger, Name, e);
            if (writer is not null)
            {
                await writer.DisposeAsync().ConfigureAwait(false);
                await DeleteLedgerQuietlyAsync(writer.LedgerId).ConfigureAwait(false);
            }
        }

        if (old is not null)
        {
            if (next is not null)
            {
                _instrumentation.Rollovers.Add(1);
                ManagedLedgerLog.RolledOver(_logger, Name, old.Slot.LedgerId, old.Slot.Entries, old.Slot.Size, next.Writer.LedgerId);
            }
            if (old.Slot.Entries == 0 && next is not null)
                await DeleteLedgerQuietlyAsync(old.Slot.LedgerId).ConfigureAwait(false);
        }

        lock (_lock)
        {
            _rollover = null;
            if (_terminal is not null)
            {
                // Stopped meanwhile (fenced): the new ledger is not used.
            }
            else if (next is null)
            {
                _creationBackoff.Failed();
                _current = null;
                FailQueuedAdds(() => new ManagedLedgerException($"Managed ledger {Name}: no ledger to add to: {failure!.Message}", failure));
            }
            else
            {
                _current = next;
                SendQueuedAdds();
            }
        }
    }

    /// <summary>
    /// Closes a ledger whose adds are all done and records its final entries and size. A failed
    /// close is logged (the ledger is recovered when first read); false when the ledger was fenced.
    /// </summary>
    private async Task<bool> CloseLedgerAsync(OpenLedger ledger)
    {
        try
        {
            await ledger.Writer.CloseAsync().ConfigureAwait(false);
        }
        catch (LedgerFencedException e)
        {
            await ledger.Writer.DisposeAsync().ConfigureAwait(false);
            Fence(new ManagedLedgerFencedException($"Managed ledger {Name}: ledger {ledger.Slot.LedgerId} was fenced while closing; another owner took the managed ledger over.", e));
            lock (_lock)
                _rollover = null;
            return false;
        }
        catch (Exception e)
        {
            ManagedLedgerLog.CloseFailed(_logger, Name, ledger.Slot.LedgerId, e);
            await ledger.Writer.DisposeAsync().ConfigureAwait(false);
        }
        lock (_lock)
            ledger.Slot.ClosedMs = NowMs;
        return true;
    }
}
