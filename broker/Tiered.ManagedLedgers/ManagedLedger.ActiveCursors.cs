namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>
    /// The cursors a consumer reads through (<see cref="ManagedCursor.SetActive"/>), usually none to a few; each with
    /// its read position as it last told (<see cref="ManagedCursor.ActiveReadPosition"/>). Guarded by the lock.
    /// </summary>
    private readonly List<ManagedCursor> _activeCursors = [];

    /// <summary>Entries added since this instance opened that went into the entry cache (for tests of the caching rule).</summary>
    internal long EntriesCachedOnAdd { get; private set; }

    /// <summary>Called by the cursor (under its lock: the cursor's lock comes before the managed ledger's).</summary>
    internal void SetCursorActive(ManagedCursor cursor, bool active, Position readPosition)
    {
        lock (_lock)
        {
            cursor.ActiveReadPosition = readPosition;
            var index = _activeCursors.IndexOf(cursor);
            if (active && index < 0)
                _activeCursors.Add(cursor);
            else if (!active && index >= 0)
                _activeCursors.RemoveAt(index);
        }
    }

    /// <summary>An active cursor's read position moved (after a read, a seek, a reset…).</summary>
    internal void ActiveCursorMoved(ManagedCursor cursor, Position readPosition)
    {
        lock (_lock)
            cursor.ActiveReadPosition = readPosition;
    }

    /// <summary>
    /// Under the lock: whether the entry just confirmed at <paramref name="position"/> goes into the entry cache. Only
    /// while an active cursor reads near the end of the log (Pulsar's rule): one caught up (it reads this entry next),
    /// or one whose next entry is still cached (it reads from the cache, so what is added now is still there when it
    /// gets to it). Otherwise nobody would take the entry from the cache before it is evicted, and copying it would
    /// only cost: a subscription without consumers, or one that fell behind further than the cache reaches (its
    /// position was evicted), reads its backlog from the bookies anyway. Costs nothing without active cursors.
    /// </summary>
    private bool CachesAddLocked(Position position)
    {
        foreach (var cursor in _activeCursors)
        {
            var reads = cursor.ActiveReadPosition;
            // Caught up at the end of the ledger before this one: it reads this ledger's first entry next.
            if (reads.LedgerId < position.LedgerId && _ledgers.Length >= 2 && _ledgers[^2] is var previous
                && previous.LedgerId == reads.LedgerId && reads.EntryId >= previous.Entries)
                reads = new Position(position.LedgerId, 0);
            if (reads >= position || _cache.Contains(reads))
                return true;
        }
        return false;
    }
}
