namespace Tiered.Ledger;

public sealed partial class LedgerWriter
{
    /// <summary>
    /// Entries are confirmed in order, so only the oldest unconfirmed one needs watching: when it
    /// is older than the add timeout, the bookies of its write set that have not journaled it are
    /// treated as failed (the same path as a broken stream: an ensemble change). While no add is
    /// pending the watch sleeps until one is sent (<see cref="_addsWanted"/>) instead of ticking: a
    /// broker keeps one writer open per loaded topic, and idle topics would otherwise each wake it every second.
    /// </summary>
    private async Task WatchAddTimeoutsAsync()
    {
        var period = TimeSpan.FromTicks(Math.Clamp(_addTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond));
        var token = _stopWatching.Token;
        while (!token.IsCancellationRequested)
        {
            TaskCompletionSource? idle = null;
            lock (_lock)
            {
                if (_pending.Count == 0)
                    idle = _addsWanted ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            if (idle is not null)
                await idle.Task.WaitAsync(token).ConfigureAwait(false);
            await Task.Delay(period, _time, token).ConfigureAwait(false);
            long entryId;
            int silent = -1;
            BookieStream? stream = null;
            lock (_lock)
            {
                // While the ensemble changes, held adds are not sent yet: nothing to time out.
                if (_changing)
                    continue;
                entryId = _confirmations.LastAddConfirmed + 1;
                if (!_pending.TryGetValue(entryId, out var oldest) || _time.GetElapsedTime(oldest.SentAt) < _addTimeout)
                    continue;
                for (var replica = 0; replica < _schedule.WriteQuorum && silent < 0; replica++)
                {
                    var index = _schedule.BookieIndex(entryId, replica);
                    if ((oldest.AckedBy & (1UL << index)) == 0)
                        silent = index;
                }
                if (silent >= 0)
                    stream = _streams[silent];
            }
            if (stream is not null)
                OnBookieFailed(stream, $"it did not journal entry {entryId} within the add timeout of {_addTimeout.TotalSeconds:0.###} s", null);
        }
    }
}
