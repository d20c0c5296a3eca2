namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>The position of the last confirmed entry; (current ledger, -1) when no entry was ever added to a fresh ledger.</summary>
    public Position LastConfirmedEntry
    {
        get
        {
            lock (_lock)
                return _lastConfirmed;
        }
    }

    /// <summary>The first position retained (the oldest entry that can be read).</summary>
    public Position FirstPosition
    {
        get
        {
            lock (_lock)
                return _ledgers.Length == 0 ? new Position(_lastConfirmed.LedgerId, 0) : new Position(_ledgers[0].LedgerId, 0);
        }
    }

    /// <summary>The position after <paramref name="position"/> (the first entry of the next ledger when it is the last of its own).</summary>
    public Position GetNextPosition(Position position)
    {
        lock (_lock)
            return NextLocked(position);
    }

    /// <summary>Where the entry at <paramref name="position"/> is or will be (see <see cref="SettleLocked"/>).</summary>
    internal Position Settle(Position position)
    {
        lock (_lock)
            return SettleLocked(position);
    }

    /// <summary>Entries in (<paramref name="fromExclusive"/>, <paramref name="toInclusive"/>].</summary>
    public long GetEntriesBetween(Position fromExclusive, Position toInclusive)
    {
        lock (_lock)
        {
            long count = 0;
            foreach (var slot in _ledgers)
            {
                if (slot.LedgerId < fromExclusive.LedgerId)
                    continue;
                if (slot.LedgerId > toInclusive.LedgerId)
                    break;
                var first = slot.LedgerId == fromExclusive.LedgerId ? Math.Max(0, fromExclusive.EntryId + 1) : 0;
                var last = slot.LedgerId == toInclusive.LedgerId ? Math.Min(toInclusive.EntryId, slot.Entries - 1) : slot.Entries - 1;
                if (last >= first)
                    count += last - first + 1;
            }
            return count;
        }
    }

    /// <summary>Under the lock: the position after <paramref name="position"/>.</summary>
    private Position NextLocked(Position position)
        => position.EntryId == long.MaxValue ? position : SettleLocked(new Position(position.LedgerId, position.EntryId + 1));

    /// <summary>
    /// Under the lock: <paramref name="position"/> moved to where an entry is or will be: past the
    /// end of a closed ledger (or into a ledger no longer listed) it becomes the first entry of the
    /// next listed ledger; in the open current ledger it stays (a future entry).
    /// </summary>
    private Position SettleLocked(Position position)
    {
        if (position.EntryId < 0)
            position = position with { EntryId = 0 };
        foreach (var slot in _ledgers)
        {
            if (slot.LedgerId < position.LedgerId)
                continue;
            if (slot.LedgerId > position.LedgerId)
            {
                if (slot.Entries > 0 || !slot.IsClosed)
                    return new Position(slot.LedgerId, 0);
                continue;
            }
            if (position.EntryId < slot.Entries || !slot.IsClosed)
                return position;
        }
        if (_ledgers.Length > 0 && position.LedgerId < _ledgers[^1].LedgerId)
            return new Position(_ledgers[^1].LedgerId, _ledgers[^1].Entries);
        return position;
    }

    /// <summary>Under the lock: the listed ledger of this id, or null.</summary>
    private LedgerSlot? FindLocked(long ledgerId)
    {
        foreach (var slot in _ledgers)
        {
            if (slot.LedgerId == ledgerId)
                return slot;
        }
        return null;
    }
}
