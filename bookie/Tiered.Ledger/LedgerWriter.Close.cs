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
        await ShutDownStreamsAsync(_addTimeout).ConfigureAwait(false);

        long lac, length;
        LedgerException? failure;
        lock (_lock)
            (lac, length, failure) = (_confirmations.LastAddConfirmed, _confirmedBytes, _failure);
        if (failure is LedgerFencedException)
            throw failure.Copy();

        var closed = _metadata.Metadata.Clone();
        closed.State = LedgerMetadata.Types.State.Closed;
        closed.LastEntryId = lac;
        closed.Length = length;
        try
        {
            _metadata = await _ledgers.UpdateAsync(_metadata, closed, cancellationToken).ConfigureAwait(false);
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            // Someone else changed the metadata of our open ledger: only a recovering reader does.
            throw new LedgerFencedException(LedgerId);
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
        await Task.WhenAll(_streams.Select(s => s.CompleteAsync(drainTimeout))).ConfigureAwait(false);
        _completions.Writer.TryComplete();
        await _completing.ConfigureAwait(false);
        await _stopWatching.CancelAsync().ConfigureAwait(false);
        await _watchingTimeouts.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopWatching.Dispose();
    }
}
