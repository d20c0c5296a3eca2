using Tiered.ManagedLedgers.Stored;

namespace Tiered.ManagedLedgers;

/// <summary>A dead-letter publish in progress: the entry, where it goes and with which sequence id, and the dead-letter topic's last entry before it.</summary>
public sealed record DeadLetterInFlight(Position Position, string Topic, long SequenceId, Position After);

public sealed partial class ManagedCursor
{
    /// <summary>Redelivery counts of entries not acknowledged (only counts above 0), stored with the cursor.</summary>
    private readonly Dictionary<Position, int> _redeliveryCounts = [];

    /// <summary>Bumped by every change of the redelivery counts; <see cref="_redeliveryStoredChange"/> is the change the last store carried.</summary>
    private long _redeliveryChanges;
    private long _redeliveryStoringChange;
    private long _redeliveryStoredChange;

    private DeadLetterInFlight? _deadLetterInFlight;
    private long _deadLetterLastSequenceId;

    /// <summary>The stored redelivery counts: the count the next delivery of each unacknowledged entry carries (for the subscription's start and internal stats).</summary>
    public IReadOnlyDictionary<Position, int> RedeliveryCounts
    {
        get
        {
            lock (_lock)
                return new Dictionary<Position, int>(_redeliveryCounts);
        }
    }

    /// <summary>The dead-letter publish that was in progress when the cursor was last stored (null: none).</summary>
    public DeadLetterInFlight? DeadLetterInFlight
    {
        get
        {
            lock (_lock)
                return _deadLetterInFlight;
        }
    }

    /// <summary>The sequence id of the last message published to the dead-letter topic (0: none).</summary>
    public long DeadLetterLastSequenceId
    {
        get
        {
            lock (_lock)
                return _deadLetterLastSequenceId;
        }
    }

    /// <summary>
    /// Sets the redelivery count the entry's next delivery carries (0 drops it); stored by the next store
    /// (<see cref="StoreRedeliveryCountsAsync"/>). An acknowledged entry has none.
    /// </summary>
    public void SetRedeliveryCount(Position position, int count)
    {
        if (!IsDurable)
            return;
        lock (_lock)
        {
            if (count <= 0 || IsAcknowledgedLocked(position))
            {
                if (_redeliveryCounts.Remove(position))
                    _redeliveryChanges++;
                return;
            }
            if (_redeliveryCounts.TryGetValue(position, out var known) && known == count)
                return;
            _redeliveryCounts[position] = count;
            _redeliveryChanges++;
        }
    }

    /// <summary>Completes once the redelivery counts set so far are stored (at once when they are).</summary>
    public ValueTask StoreRedeliveryCountsAsync(CancellationToken cancellationToken = default)
    {
        if (!IsDurable)
            return ValueTask.CompletedTask;
        lock (_lock)
        {
            if (_redeliveryStoredChange >= _redeliveryChanges)
                return ValueTask.CompletedTask;
        }
        ThrowIfClosed();
        return StoreAsync(cancellationToken);
    }

    /// <summary>Records, and stores, that <paramref name="inFlight"/> is about to be published to the dead-letter topic.</summary>
    public ValueTask BeginDeadLetterAsync(DeadLetterInFlight inFlight, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        lock (_lock)
        {
            _deadLetterInFlight = inFlight;
            _deadLetterLastSequenceId = Math.Max(_deadLetterLastSequenceId, inFlight.SequenceId - 1);
        }
        return StoreAsync(cancellationToken);
    }

    /// <summary>
    /// The entry in flight is stored in the dead-letter topic (its messages numbered up to <paramref name="lastSequenceId"/>):
    /// acknowledges it and forgets the publish, in one store.
    /// </summary>
    public ValueTask EndDeadLetterAsync(DeadLetterInFlight inFlight, long lastSequenceId, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        lock (_lock)
        {
            AckLocked(new AckPosition(inFlight.Position));
            if (_deadLetterInFlight == inFlight)
                _deadLetterInFlight = null;
            _deadLetterLastSequenceId = Math.Max(_deadLetterLastSequenceId, lastSequenceId);
            SettleLocked();
        }
        return StoreAsync(cancellationToken);
    }

    /// <summary>Under the lock: an acknowledged entry has no redelivery count.</summary>
    private void ForgetRedeliveryLocked(Position position)
    {
        if (_redeliveryCounts.Remove(position))
            _redeliveryChanges++;
    }

    /// <summary>Under the lock, from <see cref="SettleLocked"/>: drops counts at or below the mark-delete position.</summary>
    private void SettleRedeliveryLocked()
    {
        if (_redeliveryCounts.Count == 0)
            return;
        foreach (var position in _redeliveryCounts.Keys.Where(p => p <= _markDelete).ToList())
            _redeliveryCounts.Remove(position);
    }

    /// <summary>Under the lock, from <see cref="ToStored"/>.</summary>
    private void StoreRedeliveryLocked(CursorInfo info)
    {
        _redeliveryStoringChange = _redeliveryChanges;
        foreach (var (position, count) in _redeliveryCounts)
        {
            if (!IsAcknowledgedLocked(position))
                info.RedeliveryCounts.Add(new RedeliveryCount { LedgerId = position.LedgerId, EntryId = position.EntryId, Count = count });
        }
        info.DeadLetterLastSequenceId = _deadLetterLastSequenceId;
        if (_deadLetterInFlight is { } inFlight)
        {
            info.DeadLetterInFlight = new Stored.DeadLetterInFlight
            {
                LedgerId = inFlight.Position.LedgerId, EntryId = inFlight.Position.EntryId, Topic = inFlight.Topic, SequenceId = inFlight.SequenceId,
                AfterLedgerId = inFlight.After.LedgerId, AfterEntryId = inFlight.After.EntryId,
            };
        }
    }

    /// <summary>Under the lock, once a store succeeded: the counts it carried are stored.</summary>
    private void StoredRedeliveryLocked(long change) => _redeliveryStoredChange = Math.Max(_redeliveryStoredChange, change);

    private void LoadRedelivery(CursorInfo info)
    {
        foreach (var count in info.RedeliveryCounts)
            _redeliveryCounts[new Position(count.LedgerId, count.EntryId)] = count.Count;
        _deadLetterLastSequenceId = info.DeadLetterLastSequenceId;
        if (info.DeadLetterInFlight is { } inFlight)
        {
            _deadLetterInFlight = new DeadLetterInFlight(new Position(inFlight.LedgerId, inFlight.EntryId), inFlight.Topic, inFlight.SequenceId,
                new Position(inFlight.AfterLedgerId, inFlight.AfterEntryId));
        }
    }
}
