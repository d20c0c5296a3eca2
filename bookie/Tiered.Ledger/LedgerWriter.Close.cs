using Tiered.Bookie.V1;
using Tiered.Metadata;

namespace Tiered.Ledger;

public sealed partial class LedgerWriter
{
    /// <summary>
    /// Refuses further adds, waits for the pending ones to be confirmed or failed, then marks the
    /// ledger CLOSED in the metadata (compare-and-set) at the LAC, with the total payload bytes.
    /// </summary>
    /// <exception cref="LedgerFencedException">The ledger was fenced, or another client closed or is recovering it.</exception>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        Task drained;
        lock (_lock)
        {
            if (_shutDown)
                return;
            _closing = true;
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            SignalIfDrained();
            drained = _drained.Task;
        }
        await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
        // An ensemble change still storing its metadata must finish before the close's compare-and-set.
        Task changing;
        lock (_lock)
            changing = _changingEnsemble;
        await changing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await ShutDownStreamsAsync(_addTimeout).ConfigureAwait(false);

        long lac, length;
        LedgerException? failure;
        lock (_lock)
            (lac, length, failure) = (_confirmations.LastAddConfirmed, _confirmedBytes, _failure);
        if (failure is LedgerFencedException)
            throw failure.Copy();

        for (var attempt = 1; ; attempt++)
        {
            var closed = _metadata.Metadata.Clone();
            closed.State = LedgerMetadata.Types.State.Closed;
            closed.LastEntryId = lac;
            closed.Length = length;
            try
            {
                _metadata = await _ledgers.UpdateAsync(_metadata, closed, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                // Someone else changed the metadata of our open ledger: a recovering reader (then it
                // is no longer OPEN and this writer has lost it), or a harmless change of another field.
                var current = await _ledgers.GetAsync(LedgerId, cancellationToken).ConfigureAwait(false);
                if (current is null)
                    throw new LedgerFencedException(LedgerId, $"Ledger {LedgerId} was deleted while its writer was closing it.");
                if (current.Metadata.State != LedgerMetadata.Types.State.Open)
                {
                    var state = current.Metadata.State == LedgerMetadata.Types.State.Closed
                        ? $"closed it at entry {current.Metadata.LastEntryId}"
                        : "is recovering it";
                    throw new LedgerFencedException(LedgerId,
                        $"Ledger {LedgerId} was fenced by a recovering reader, which {state}; this writer (last add confirmed {lac}) can neither add to nor close it.");
                }
                if (attempt >= 3)
                    throw new LedgerException($"Ledger {LedgerId} could not be closed: its metadata kept changing under the writer ({attempt} attempts).", e);
                _metadata = current;
            }
        }
        LedgerLog.Closed(_logger, LedgerId, lac, length);
    }

    /// <summary>Stops the writer without closing the ledger (it stays OPEN for a recovering reader to close); pending adds fail.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_shutDown)
                return;
            _closing = true;
        }
        FailFrom(0, new LedgerException($"The writer of ledger {LedgerId} was disposed before the add was confirmed."));
        await ShutDownStreamsAsync(drainTimeout: null).ConfigureAwait(false);
    }

    private async Task ShutDownStreamsAsync(TimeSpan? drainTimeout)
    {
        lock (_lock)
        {
            if (_shutDown)
                return;
            _shutDown = true;
        }
        Task changing;
        lock (_lock)
            changing = _changingEnsemble;
        await changing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.WhenAll(_streams.Select(s => s.CompleteAsync(drainTimeout))).ConfigureAwait(false);
        Task[] retiring;
        lock (_lock)
            retiring = [.. _retiring];
        await Task.WhenAll(retiring).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _completions.Writer.TryComplete();
        await _completing.ConfigureAwait(false);
        await _stopWatching.CancelAsync().ConfigureAwait(false);
        await _watchingTimeouts.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopWatching.Dispose();
    }
}
