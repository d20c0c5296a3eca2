using Tiered.Broker.Entries;
using Tiered.Broker.Subscriptions.Delayed;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Subscriptions;

/// <summary>
/// Delayed delivery: a Shared or Key_Shared subscription holds an entry until the latest deliver_at_ms of its
/// messages. A held entry is simply not acknowledged: the cursor reads on and the entry is indexed in
/// <see cref="DelayedDeliveryTracker"/>; when it is due it joins the replay set (<c>_redeliver</c>) and goes out like
/// a redelivery, without a redelivery count. After a restart or an owner change the cursor re-reads from its
/// mark-delete position and the tracker is rebuilt; the time is always read from the entry itself, so an entry is
/// never delivered early. Exclusive and Failover subscriptions deliver at once (as Pulsar).
/// </summary>
public sealed partial class Subscription
{
    /// <summary>Due entries moved to the replay set at a time, so a burst of due entries is not all decoded at once.</summary>
    private const int MaxDueInReplay = 10_000;

    private readonly DelayedDeliveryTracker _delayed;
    private ITimer? _delayedTimer;
    private long _delayedWakeAt = long.MaxValue;

    /// <summary>Set when the tracker must be rebuilt from the log (the type changed to one that does not delay, a re-read failed).</summary>
    private bool _delayedRebuild;

    /// <summary>After a rebuild, entries before this position may be held by consumers already: those are not delivered twice.</summary>
    private Position _rewoundBefore = Position.Earliest;

    /// <summary>Bumped when the index is cleared, so that a re-read in progress then adds nothing found before.</summary>
    private long _delayedEpoch;

    /// <summary>Messages held until their deliver_at_ms (Pulsar's msgDelayed).</summary>
    public long DelayedMessages
    {
        get
        {
            lock (_lock)
                return _delayed.Messages;
        }
    }

    /// <summary>The delayed-delivery index's memory (Pulsar's delayedMessageIndexSizeInBytes).</summary>
    public long DelayedIndexBytes
    {
        get
        {
            lock (_lock)
                return _delayed.IndexBytes;
        }
    }

    /// <summary>The index's figures for internalStats; null when it holds nothing.</summary>
    public Admin.DelayedIndexStats? DelayedIndexStats()
    {
        lock (_lock)
        {
            return _delayed.IsEmpty ? null
                : new Admin.DelayedIndexStats(_delayed.Entries, _delayed.Messages, _delayed.SpilledEntries, _delayed.SlotCount, _delayed.SummaryCount,
                    _delayed.IndexBytes, _delayed.TickMs);
        }
    }

    private static bool Delays(SubscriptionType type) => type is SubscriptionType.Shared or SubscriptionType.KeyShared;

    /// <summary>Under the lock, before the type changes: leaving Shared/Key_Shared, the held entries are read again and go out at once.</summary>
    private void OnTypeChanging(SubscriptionType next)
    {
        if (Delays(Type) && !Delays(next) && !_delayed.IsEmpty)
            _delayedRebuild = true;
    }

    /// <summary>Under the lock (a reset): nothing held any more.</summary>
    private void ClearDelayed()
    {
        _delayedEpoch++;
        _delayed.Clear();
        _delayedRebuild = false;
        _rewoundBefore = Position.Earliest;
    }

    /// <summary>
    /// Under the lock, in <see cref="Deliver"/>: whether the entry is not to go out now, because it is held until its
    /// time (then indexed) or, after a rebuild, a consumer holds it already.
    /// </summary>
    private bool HoldOrSkip(ManagedEntry entry, int messages, long nowMs)
    {
        if (entry.Position < _rewoundBefore && IsHeld(entry.Position))
            return true;
        if (!Delays(Type))
            return false;
        var deliverAt = BatchHeader.LatestDeliverAt(entry.Data.Span);
        if (deliverAt <= nowMs)
            return false;
        _delayed.Add(entry.Position, deliverAt, messages);
        ScheduleDelayedWake(nowMs);
        return true;
    }

    /// <summary>
    /// At the top of each dispatch round: rebuilds the tracker when asked, moves due entries to the replay set, and
    /// re-reads a due spilled range when consumers can take entries. True when it re-read (the round starts again).
    /// </summary>
    private async ValueTask<bool> DispatchDueDelayedAsync(CancellationToken cancellationToken)
    {
        SpilledRange range;
        lock (_lock)
        {
            if (_delayedRebuild)
            {
                _delayedRebuild = false;
                _rewoundBefore = Cursor.ReadPosition;
                _delayedEpoch++;
                _delayed.Clear();
                _redeliver.Clear();
                Cursor.Rewind();
            }
            if (_delayed.IsEmpty)
                return false;
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            _delayed.TakeDue(now, _redeliver, MaxDueInReplay);
            if (_redeliver.Count >= MaxDueInReplay || AvailablePermits() <= 0 || !_delayed.TryTakeDueSummary(now, out range))
            {
                ScheduleDelayedWake(now);
                return false;
            }
        }
        try
        {
            await RescanAsync(range, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The summary is gone and what was found of it is partly indexed again: start over from the log.
            lock (_lock)
                _delayedRebuild = true;
            throw;
        }
        return true;
    }

    /// <summary>
    /// Re-reads a spilled range: each entry not acknowledged, not held by a consumer, not waiting for redelivery, and
    /// whose time falls in the range's slots, goes to the replay set when due or is indexed again.
    /// </summary>
    private async Task RescanAsync(SpilledRange range, CancellationToken cancellationToken)
    {
        var position = range.First;
        long epoch;
        lock (_lock)
            epoch = _delayedEpoch;
        while (position <= range.Last)
        {
            var entries = await Cursor.Ledger.ReadEntriesAsync(position, MaxEntriesPerRead, cancellationToken).ConfigureAwait(false);
            if (entries.Count == 0)
                break;
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            lock (_lock)
            {
                if (_delayedEpoch != epoch)
                    return; // Reset meanwhile: the cursor reads these entries again if they are to come.
                foreach (var entry in entries)
                {
                    if (entry.Position > range.Last)
                        break;
                    if (Cursor.IsAcknowledged(entry.Position) || _redeliver.Contains(entry.Position) || IsHeld(entry.Position))
                        continue;
                    var deliverAt = BatchHeader.LatestDeliverAt(entry.Data.Span);
                    if (deliverAt <= 0 || !_delayed.Covers(range, deliverAt))
                        continue;
                    if (deliverAt <= now)
                        _redeliver.Add(entry.Position);
                    else
                        _delayed.Add(entry.Position, deliverAt, BatchHeader.TryRead(entry.Data.Span, out var header, out _) ? header.MessageCount : 1);
                }
                ScheduleDelayedWake(now);
            }
            position = Cursor.Ledger.GetNextPosition(entries[^1].Position);
        }
    }

    /// <summary>Under the lock: whether a connected consumer holds the entry (delivered, not acknowledged).</summary>
    private bool IsHeld(Position position)
    {
        foreach (var consumer in _consumers)
        {
            if (consumer.Pending.ContainsKey(position))
                return true;
        }
        return false;
    }

    /// <summary>
    /// Under the lock: arms the timer for the next due entries (no polling). Entries due already are the dispatch
    /// loop's, which comes back to them as consumers take entries.
    /// </summary>
    private void ScheduleDelayedWake(long nowMs)
    {
        var due = _delayed.NextDueMs;
        if (due == long.MaxValue || due <= nowMs || due >= _delayedWakeAt)
            return;
        _delayedWakeAt = due;
        _delayedTimer ??= _time.CreateTimer(static state => ((Subscription)state!).OnDelayedTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _delayedTimer.Change(TimeSpan.FromMilliseconds(due - nowMs), Timeout.InfiniteTimeSpan);
    }

    private void OnDelayedTimer()
    {
        lock (_lock)
            _delayedWakeAt = long.MaxValue;
        Wake();
    }

    private void DisposeDelayed()
    {
        lock (_lock)
        {
            _delayedTimer?.Dispose();
            _delayedTimer = null;
            _delayed.Clear();
        }
    }
}
