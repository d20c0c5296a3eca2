namespace Tiered.ManagedLedgers;

public sealed partial class ManagedCursor
{
    /// <summary>Acknowledges entries or single batch messages; completes once stored (durable cursors).</summary>
    public ValueTask AckAsync(IReadOnlyList<AckPosition> acks, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        lock (_lock)
        {
            foreach (var ack in acks)
                AckLocked(ack);
            SettleLocked();
        }
        return StoreAsync(cancellationToken);
    }

    /// <summary>Acknowledges everything up to and including <paramref name="upTo"/>; completes once stored.</summary>
    public ValueTask AckCumulativeAsync(AckPosition upTo, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        lock (_lock)
        {
            var position = upTo.Position;
            var partOfBatch = upTo.BatchIndex >= 0 && upTo.BatchSize > 0 && upTo.BatchIndex < upTo.BatchSize - 1;
            if (partOfBatch)
            {
                // Everything before the entry, and its messages up to the batch index.
                MoveMarkDeleteLocked(position with { EntryId = position.EntryId - 1 });
                if (!IsAcknowledgedLocked(position))
                    BatchLocked(position, upTo.BatchSize).SetUpTo(upTo.BatchIndex);
            }
            else
            {
                MoveMarkDeleteLocked(position);
            }
            SettleLocked();
        }
        return StoreAsync(cancellationToken);
    }

    /// <summary>
    /// Moves the mark-delete position to <paramref name="upTo"/> (never back) and replaces the cursor's
    /// <see cref="Properties"/>, stored together: what the properties describe holds up to that position.
    /// </summary>
    public ValueTask MarkDeleteAsync(Position upTo, IReadOnlyDictionary<string, long> properties, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        lock (_lock)
        {
            MoveMarkDeleteLocked(upTo);
            _properties = properties;
            SettleLocked();
        }
        return StoreAsync(cancellationToken);
    }

    /// <summary>Resets to <paramref name="nextToRead"/>: everything before it is acknowledged, nothing from it on; stored.</summary>
    public ValueTask ResetAsync(Position nextToRead, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var next = nextToRead == Position.Earliest ? Ledger.FirstPosition
            : nextToRead == Position.Latest ? Ledger.GetNextPosition(Ledger.LastConfirmedEntry)
            : Ledger.Settle(nextToRead);
        lock (_lock)
        {
            _markDelete = next with { EntryId = next.EntryId - 1 };
            _acked.Clear();
            _batches.Clear();
            _redeliveryCounts.Clear();
            _redeliveryChanges++;
            _readPosition = next;
            _readMoves++;
            ReadPositionMovedLocked();
        }
        return StoreAsync(cancellationToken);
    }

    /// <summary>Acknowledges the next <paramref name="entries"/> unacknowledged entries after the mark-delete position; stored.</summary>
    public ValueTask SkipAsync(long entries, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(entries);
        ThrowIfClosed();
        lock (_lock)
        {
            var last = Ledger.LastConfirmedEntry;
            var position = SkipAcknowledgedLocked(_markDelete);
            for (long skipped = 0; skipped < entries && position <= last; skipped++)
            {
                _batches.Remove(position);
                _acked.Add(position);
                position = SkipAcknowledgedLocked(position);
            }
            SettleLocked();
        }
        return StoreAsync(cancellationToken);
    }

    /// <summary>Acknowledges everything up to the last confirmed entry; stored.</summary>
    public ValueTask ClearBacklogAsync(CancellationToken cancellationToken = default)
        => AckCumulativeAsync(new AckPosition(Ledger.LastConfirmedEntry), cancellationToken);

    private void AckLocked(AckPosition ack)
    {
        var position = ack.Position;
        if (IsAcknowledgedLocked(position))
            return;
        if (ack.BatchIndex >= 0 && ack.BatchSize > 0)
        {
            var batch = BatchLocked(position, ack.BatchSize);
            batch.Set(ack.BatchIndex);
            if (!batch.All)
                return;
        }
        _batches.Remove(position);
        _acked.Add(position);
        if (_redeliveryCounts.Count > 0)
            ForgetRedeliveryLocked(position);
    }

    private BatchAckState BatchLocked(Position position, int batchSize)
    {
        if (!_batches.TryGetValue(position, out var batch))
        {
            batch = new BatchAckState(batchSize);
            _batches[position] = batch;
        }
        return batch;
    }

    private void MoveMarkDeleteLocked(Position markDelete)
    {
        if (markDelete > _markDelete)
            _markDelete = markDelete;
    }

    /// <summary>
    /// Under the lock: moves the mark-delete position over the acknowledged entries that follow it,
    /// drops ranges and batch states it covers, and keeps the read position after it.
    /// </summary>
    private void SettleLocked()
    {
        _acked.RemoveUpTo(_markDelete);
        while (_acked.Count > 0 && _acked.Ranges[0].Start == Ledger.GetNextPosition(_markDelete))
        {
            _markDelete = _acked.Ranges[0].End;
            _acked.RemoveUpTo(_markDelete);
        }
        if (_batches.Count > 0)
        {
            // Removing while enumerating is allowed for a Dictionary (no copy of the keys on every ack).
            foreach (var position in _batches.Keys)
            {
                if (position <= _markDelete)
                    _batches.Remove(position);
            }
        }
        SettleRedeliveryLocked();
        if (_readPosition <= _markDelete)
        {
            _readPosition = Ledger.GetNextPosition(_markDelete);
            ReadPositionMovedLocked();
        }
    }
}
