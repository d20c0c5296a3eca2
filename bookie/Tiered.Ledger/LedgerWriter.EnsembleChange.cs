using Tiered.Bookie.V1;
using Tiered.Metadata;

namespace Tiered.Ledger;

public sealed partial class LedgerWriter
{
    private const int EnsembleChangeAttempts = 10;

    // All guarded by _lock.
    private readonly Queue<BookieFailure> _toReplace = new();
    private readonly HashSet<string> _failedBookies = new(StringComparer.Ordinal);
    private readonly List<AddRequest> _confirmedDuringChange = [];
    private readonly List<Task> _retiring = [];
    private bool _changing;
    private long _holdFrom;
    private Task _changingEnsemble = Task.CompletedTask;

    /// <summary>Sends an add to the current bookies of its write set (under the lock, so each bookie sees ids in order).</summary>
    private void SendToWriteSet(PendingAdd add)
    {
        for (var replica = 0; replica < _schedule.WriteQuorum; replica++)
            _streams[_schedule.BookieIndex(add.Request!.EntryId, replica)].Send(add.Request);
    }

    /// <summary>
    /// A bookie of the ensemble failed (refusal, transport error, stream ended, add timeout). New
    /// sends are held and the bookie is replaced by an ensemble change, one failed bookie after
    /// another; only if no replacement can be found (or the ledger was fenced meanwhile) do the
    /// unconfirmed adds fail.
    /// </summary>
    private void OnBookieFailed(BookieStream stream, string reason, Exception? cause)
    {
        lock (_lock)
        {
            if (stream.Failed || !ReferenceEquals(_streams[stream.Index], stream) || _shutDown)
                return;
            stream.Failed = true;
            _failedBookies.Add(stream.BookieId);
            _quarantine.Add(stream.BookieId);
            LedgerLog.BookieFailed(_logger, stream.BookieId, LedgerId,
                new LedgerException($"Bookie {stream.BookieId} (ensemble position {stream.Index}) of ledger {LedgerId} failed: {reason}.", cause));
            if (_failure is not null)
                return;
            _toReplace.Enqueue(new BookieFailure(stream, reason, cause));
            if (_changing)
                return;
            _changing = true;
            _holdFrom = _confirmations.NextEntryId;
            _changingEnsemble = Task.Run(ChangeEnsembleAsync);
        }
    }

    /// <summary>
    /// Replaces the failed bookies one after another. Whatever goes wrong, the change ends: an
    /// unexpected error fails the writer (its owner rolls to a new ledger) rather than leaving
    /// every later add waiting for a change that never finishes.
    /// </summary>
    private async Task ChangeEnsembleAsync()
    {
        try
        {
            await ReplaceFailedBookiesAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            FailChange(new LedgerException($"Ledger {LedgerId}: replacing a failed bookie failed unexpectedly ({e.GetType().Name}: {e.Message}); this writer can add no more entries.", e));
        }
    }

    private async Task ReplaceFailedBookiesAsync()
    {
        while (true)
        {
            BookieFailure failed;
            string[] ensemble;
            HashSet<string> exclude;
            lock (_lock)
            {
                if (_failure is not null || _shutDown)
                {
                    AbandonChange();
                    return;
                }
                if (!_toReplace.TryDequeue(out failed!))
                {
                    ResumeSends();
                    return;
                }
                ensemble = [.. _streams.Select(s => s.BookieId)];
                exclude = [.. _failedBookies];
            }

            var position = failed.Stream.Index;
            BookieStream replacementStream;
            long segmentStart;
            try
            {
                var available = await _ledgers.AvailableBookiesAsync().ConfigureAwait(false);
                string replacement;
                try
                {
                    replacement = _quarantine.Replace(ensemble, position, [.. available], exclude);
                }
                catch (InsufficientBookiesException e)
                {
                    throw new LedgerException(
                        $"Bookie {failed.Stream.BookieId} (ensemble position {position}) of ledger {LedgerId} failed: {failed.Reason}; no replacement bookie is available ({e.Message}). Unconfirmed adds from there on fail.",
                        failed.Cause ?? e);
                }
                ensemble[position] = replacement;
                segmentStart = await StoreEnsembleAsync(ensemble, failed.Stream.BookieId).ConfigureAwait(false);
                // Started only once it holds its position (below), so that its failure is not lost.
                replacementStream = new BookieStream(this, position, replacement, _pool.Get(replacement));
            }
            catch (LedgerException e)
            {
                FailChange(e);
                return;
            }
            catch (Exception e) when (e is MetadataException or InvalidOperationException or OperationCanceledException or ObjectDisposedException)
            {
                FailChange(new LedgerException(
                    $"Bookie {failed.Stream.BookieId} (ensemble position {position}) of ledger {LedgerId} failed: {failed.Reason}; replacing it failed: {e.Message}. Unconfirmed adds from there on fail.", e));
                return;
            }

            BookieStream? retired = null;
            lock (_lock)
            {
                if (_failure is null && !_shutDown)
                {
                    retired = _streams[position];
                    _streams[position] = replacementStream;
                    replacementStream.Start();
                    // Entries of the new segment confirmed meanwhile (by the other replicas) get their copy too.
                    foreach (var request in _confirmedDuringChange)
                    {
                        if (request.EntryId >= segmentStart && _schedule.Stores(request.EntryId, position))
                            replacementStream.Send(request);
                    }
                    var now = _time.GetTimestamp();
                    var bit = 1UL << position;
                    foreach (var entryId in _confirmations.ForgetBookie(position))
                    {
                        if (!_pending.TryGetValue(entryId, out var add))
                            continue;
                        add.AckedBy &= ~bit;
                        // Held adds (from _holdFrom on) go to the whole write set on resume.
                        if (entryId < _holdFrom)
                        {
                            add.SentAt = now;
                            replacementStream.Send(add.Request!);
                        }
                    }
                    _retiring.Add(retired.CompleteAsync(drainTimeout: null));
                }
            }
            if (retired is null)
            {
                await replacementStream.CompleteAsync(drainTimeout: null).ConfigureAwait(false);
                continue; // abandons the change on the next turn
            }
            _instrumentation?.EnsembleChanges.Add(1);
            LedgerLog.EnsembleChanged(_logger, LedgerId, retired.BookieId, replacementStream.BookieId, position, segmentStart);
        }
    }

    /// <summary>
    /// Stores the new ensemble by compare-and-set: a new segment from the first unconfirmed entry
    /// (or the last segment changed in place if it starts there). Returns the segment's first entry.
    /// </summary>
    /// <exception cref="LedgerFencedException">The ledger is no longer OPEN: a recovering reader fenced it.</exception>
    private async Task<long> StoreEnsembleAsync(string[] ensemble, string failedBookie)
    {
        for (var attempt = 1; ; attempt++)
        {
            long first;
            lock (_lock)
                first = _confirmations.LastAddConfirmed + 1;
            var current = _metadata;
            var updated = current.Metadata.Clone();
            var last = updated.Segments.MaxBy(s => s.FirstEntryId)!;
            if (last.FirstEntryId >= first)
            {
                last.Bookies.Clear();
                last.Bookies.Add(ensemble);
                first = last.FirstEntryId;
            }
            else
            {
                updated.Segments.Add(new Segment { FirstEntryId = first, Bookies = { ensemble } });
            }
            try
            {
                _metadata = await _ledgers.UpdateAsync(current, updated).ConfigureAwait(false);
                return first;
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                var latest = await _ledgers.GetAsync(LedgerId).ConfigureAwait(false);
                if (latest is null || latest.Metadata.State != LedgerMetadata.Types.State.Open)
                {
                    throw new LedgerFencedException(LedgerId,
                        $"Ledger {LedgerId} was fenced by a recovering reader (or deleted) while its writer was replacing failed bookie {failedBookie}; this writer can add no more entries.");
                }
                if (attempt >= EnsembleChangeAttempts)
                    throw new LedgerException($"Ledger {LedgerId}: replacing failed bookie {failedBookie} failed, its metadata kept changing under the writer ({attempt} attempts).", e);
                _metadata = latest;
            }
        }
    }

    /// <summary>Under the lock: the change is done; the held adds go out to their (new) write sets.</summary>
    private void ResumeSends()
    {
        var now = _time.GetTimestamp();
        for (var entryId = _holdFrom; entryId < _confirmations.NextEntryId; entryId++)
        {
            if (_pending.TryGetValue(entryId, out var add))
            {
                add.SentAt = now;
                SendToWriteSet(add);
            }
        }
        _confirmedDuringChange.Clear();
        _changing = false;
    }

    /// <summary>Under the lock: the writer failed or stopped meanwhile; nothing more is sent.</summary>
    private void AbandonChange()
    {
        _toReplace.Clear();
        _confirmedDuringChange.Clear();
        _changing = false;
        if (_failure is { } failure)
            FailFrom(_confirmations.LastAddConfirmed + 1, failure);
    }

    /// <summary>
    /// No replacement (or the ledger was fenced): every unconfirmed add from the first one a failed
    /// bookie still owed fails, and so do the held ones and later adds (they can never be confirmed in order).
    /// </summary>
    private void FailChange(LedgerException error)
    {
        lock (_lock)
        {
            var from = _holdFrom;
            if (error is not LedgerFencedException)
            {
                var failedPositions = _streams.Where(s => s is { Failed: true }).Select(s => s.Index).ToList();
                for (var id = _confirmations.LastAddConfirmed + 1; id < _holdFrom; id++)
                {
                    if (_pending.TryGetValue(id, out var add)
                        && failedPositions.Exists(p => _schedule.Stores(id, p) && (add.AckedBy & (1UL << p)) == 0))
                    {
                        from = id;
                        break;
                    }
                }
            }
            else
            {
                from = _confirmations.LastAddConfirmed + 1;
            }
            _toReplace.Clear();
            _confirmedDuringChange.Clear();
            _changing = false;
            FailFrom(from, error);
        }
    }

    private sealed record BookieFailure(BookieStream Stream, string Reason, Exception? Cause);
}
