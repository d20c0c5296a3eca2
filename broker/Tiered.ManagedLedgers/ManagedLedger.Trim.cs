namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>
    /// Deletes closed ledgers whose every entry every durable cursor has acknowledged (every closed
    /// ledger when there is no durable cursor) and that fall outside <paramref name="retention"/>.
    /// The current ledger is never deleted.
    /// </summary>
    /// <remarks>
    /// Following Pulsar, the consumed ledgers are considered oldest first and each is deleted while
    /// it is past the retention time or the consumed ledgers kept would exceed the retention size;
    /// the first one that is within both limits stops the trim. The list without them is stored
    /// first, then the ledgers are deleted from the bookies.
    /// </remarks>
    public async Task TrimAsync(RetentionPolicy retention, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        Position? slowest = null;
        foreach (var cursor in Cursors)
        {
            var markDelete = cursor.MarkDeletePosition;
            if (slowest is null || markDelete < slowest)
                slowest = markDelete;
        }
        var now = NowMs;
        List<LedgerSlot> trimmed = [];
        await UpdateLedgersAsync(ledgers =>
        {
            var consumed = new List<LedgerSlot>();
            foreach (var slot in ledgers)
            {
                if (!slot.IsClosed || (slowest is { } s && !IsConsumed(slot, s)))
                    break;
                consumed.Add(slot);
            }
            var consumedSize = consumed.Sum(s => s.Size);
            long deletedSize = 0;
            foreach (var slot in consumed)
            {
                if (!IsOutsideRetention(slot, retention, now, consumedSize - deletedSize))
                    break;
                trimmed.Add(slot);
                deletedSize += slot.Size;
            }
            return trimmed.Count == 0 ? null : [.. ledgers.Where(l => !trimmed.Contains(l))];
        }, cancellationToken).ConfigureAwait(false);
        if (trimmed.Count == 0)
            return;
        lock (_lock)
        {
            foreach (var slot in trimmed)
                _readers.Remove(slot.LedgerId);
        }
        foreach (var slot in trimmed)
            await DeleteLedgerDataAsync(slot).ConfigureAwait(false);
        _instrumentation.TrimmedLedgers.Add(trimmed.Count);
        ManagedLedgerLog.Trimmed(_logger, Name, trimmed.Count, trimmed.Sum(s => s.Entries), trimmed.Sum(s => s.Size));
    }

    private static bool IsConsumed(LedgerSlot slot, Position markDelete)
        => markDelete.LedgerId > slot.LedgerId || (markDelete.LedgerId == slot.LedgerId && markDelete.EntryId >= slot.Entries - 1);

    /// <summary>Past the retention time, or the consumed ledgers kept (this one included) exceed the retention size. Negative limits are infinite.</summary>
    private static bool IsOutsideRetention(LedgerSlot slot, RetentionPolicy retention, long nowMs, long keptConsumedSize)
    {
        var expired = retention.Time == TimeSpan.Zero
            || (retention.Time > TimeSpan.Zero && nowMs - slot.ClosedMs > (long)retention.Time.TotalMilliseconds);
        var overSize = retention.SizeBytes == 0
            || (retention.SizeBytes > 0 && keptConsumedSize > retention.SizeBytes);
        return expired || overSize;
    }
}
