using Tiered.ManagedLedgers.Stored;

namespace Tiered.ManagedLedgers;

/// <summary>
/// A subscription's place in a managed ledger: the mark-delete position (every entry up to it is
/// acknowledged), the entries after it acknowledged individually (and single messages of batches),
/// and the read position (the next entry to hand out). A durable cursor stores its acknowledgement
/// state in the metadata service; an acknowledgement completes only once stored, with one store
/// in flight per cursor and every acknowledgement that arrived meanwhile in the next (group
/// commit). The read position is not stored: after a restart reading starts after the mark-delete
/// position and skips what was acknowledged individually.
/// </summary>
/// <remarks>
/// One short lock guards the acknowledgement state and the read position; it is taken before the
/// managed ledger's lock, never after. One <see cref="ReadEntriesAsync"/> at a time per cursor.
/// </remarks>
public sealed partial class ManagedCursor
{
    private readonly Lock _lock = new();
    private readonly string? _key;
    private readonly AckedRanges _acked = new();
    private readonly Dictionary<Position, BatchAckState> _batches = [];
    private Position _markDelete;
    private IReadOnlyDictionary<string, long> _properties = new Dictionary<string, long>();
    private Position _readPosition;

    /// <summary>Bumped by every move of the read position other than a read, so a read in progress does not undo it.</summary>
    private long _readMoves;

    /// <summary>A consumer reads through this cursor (<see cref="SetActive"/>): the managed ledger follows its read position.</summary>
    private bool _active;

    private ManagedCursor(ManagedLedger ledger, string name, string? key, Position markDelete, long version)
    {
        (Ledger, Name, _key, _markDelete, _version) = (ledger, name, key, markDelete, version);
        _readPosition = ledger.GetNextPosition(markDelete);
    }

    public string Name { get; }

    public bool IsDurable => _key is not null;

    /// <summary>The named values last stored with the mark-delete position (<see cref="MarkDeleteAsync"/>).</summary>
    public IReadOnlyDictionary<string, long> Properties
    {
        get
        {
            lock (_lock)
                return _properties;
        }
    }

    public ManagedLedger Ledger { get; }

    public Position MarkDeletePosition
    {
        get
        {
            lock (_lock)
                return _markDelete;
        }
    }

    /// <summary>
    /// Whether a consumer reads through this cursor. The broker sets it while a subscription has consumers connected
    /// (Pulsar's active cursors): the managed ledger caches an entry it adds only while an active cursor reads near
    /// the end of the log (docs/managed-ledger.md#the-entry-cache), so a subscription nobody reads costs no copy.
    /// </summary>
    public bool IsActive
    {
        get
        {
            lock (_lock)
                return _active;
        }
    }

    /// <summary>A consumer reads through this cursor from now on (see <see cref="IsActive"/>). Idempotent.</summary>
    public void SetActive() => SetActive(true);

    /// <summary>No consumer reads through this cursor any more (see <see cref="IsActive"/>). Idempotent.</summary>
    public void SetInactive() => SetActive(false);

    private void SetActive(bool active)
    {
        lock (_lock)
        {
            _active = active;
            Ledger.SetCursorActive(this, active, _readPosition);
        }
    }

    /// <summary>The read position as the managed ledger knows it while the cursor is active; guarded by the managed ledger's lock.</summary>
    internal Position ActiveReadPosition { get; set; }

    /// <summary>Under the lock, after the read position moved: an active cursor tells the managed ledger where it reads.</summary>
    private void ReadPositionMovedLocked()
    {
        if (_active)
            Ledger.ActiveCursorMoved(this, _readPosition);
    }

    /// <summary>The next entry <see cref="ReadEntriesAsync"/> returns (if not acknowledged meanwhile).</summary>
    public Position ReadPosition
    {
        get
        {
            lock (_lock)
                return _readPosition;
        }
    }

    /// <summary>Entries after the mark-delete position not yet acknowledged, up to the last confirmed entry.</summary>
    public long Backlog
    {
        get
        {
            lock (_lock)
            {
                var last = Ledger.LastConfirmedEntry;
                return Math.Max(0, Ledger.GetEntriesBetween(_markDelete, last) - _acked.CountUpTo(last));
            }
        }
    }

    /// <summary>Messages acknowledged one by one inside batch entries not (yet) acknowledged as a whole.</summary>
    public long AckedBatchMessages
    {
        get
        {
            lock (_lock)
            {
                long count = 0;
                foreach (var (position, batch) in _batches)
                {
                    if (!IsAcknowledgedLocked(position))
                        count += batch.Count;
                }
                return count;
            }
        }
    }

    /// <summary>Entries acknowledged individually after the mark-delete position, as ranges of positions (inclusive).</summary>
    public IReadOnlyList<(Position First, Position Last)> AckedRanges
    {
        get
        {
            lock (_lock)
                return [.. _acked.Ranges.Select(r => (r.Start, r.End))];
        }
    }

    internal static ManagedCursor Load(ManagedLedger ledger, string name, string key, CursorInfo info, long version)
    {
        var cursor = new ManagedCursor(ledger, name, key, new Position(info.MarkDeleteLedgerId, info.MarkDeleteEntryId), version);
        cursor._properties = new Dictionary<string, long>(info.Properties, StringComparer.Ordinal);
        foreach (var range in info.AckedRanges)
            cursor._acked.AddRange(new AckedRange(range.LedgerId, range.FirstEntryId, range.LastEntryId));
        foreach (var batch in info.BatchAcks)
            cursor._batches[new Position(batch.LedgerId, batch.EntryId)] = new BatchAckState(batch.BatchSize, batch.AckedBits);
        cursor.LoadRedelivery(info);
        lock (cursor._lock)
            cursor.SettleLocked();
        return cursor;
    }

    internal static ManagedCursor NonDurable(ManagedLedger ledger, Position markDelete) => new(ledger, $"reader-{Guid.NewGuid():N}", key: null, markDelete, version: 0);

    /// <summary>
    /// Up to <paramref name="maxEntries"/> entries from the read position on, skipping acknowledged
    /// ones, and moves the read position past them. Empty when there is nothing new.
    /// </summary>
    public async ValueTask<IReadOnlyList<ManagedEntry>> ReadEntriesAsync(int maxEntries, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var result = new List<ManagedEntry>(Math.Min(maxEntries, 256));
        Position position;
        long moves;
        lock (_lock)
            (position, moves) = (_readPosition, _readMoves);
        while (result.Count < maxEntries)
        {
            int limit;
            lock (_lock)
            {
                position = SkipAcknowledgedLocked(position);
                limit = maxEntries - result.Count;
                if (_acked.NextAfter(position) is { } next && next.LedgerId == position.LedgerId)
                    limit = (int)Math.Min(limit, next.First - position.EntryId);
            }
            var entries = await Ledger.ReadEntriesAsync(position, limit, cancellationToken).ConfigureAwait(false);
            if (entries.Count == 0)
                break;
            lock (_lock)
            {
                foreach (var entry in entries)
                {
                    if (!IsAcknowledgedLocked(entry.Position))
                        result.Add(entry);
                }
            }
            position = Ledger.GetNextPosition(entries[^1].Position);
        }
        lock (_lock)
        {
            if (_readMoves == moves)
            {
                _readPosition = position;
                ReadPositionMovedLocked();
            }
        }
        return result;
    }

    /// <summary>Completes once an entry at or after the read position is confirmed.</summary>
    public ValueTask WaitForEntriesAsync(CancellationToken cancellationToken = default)
    {
        Position position;
        lock (_lock)
            position = SkipAcknowledgedLocked(_readPosition);
        return Ledger.WaitForEntriesAfterAsync(position with { EntryId = position.EntryId - 1 }, cancellationToken);
    }

    /// <summary>Moves the read position back to the first entry after the mark-delete position.</summary>
    public void Rewind()
    {
        lock (_lock)
        {
            _readPosition = Ledger.GetNextPosition(_markDelete);
            _readMoves++;
            ReadPositionMovedLocked();
        }
    }

    /// <summary>Moves the read position (acknowledgement state unchanged).</summary>
    public void Seek(Position nextToRead)
    {
        lock (_lock)
        {
            _readPosition = nextToRead;
            _readMoves++;
            ReadPositionMovedLocked();
        }
    }

    /// <summary>Whether the entry is acknowledged as a whole.</summary>
    public bool IsAcknowledged(Position position)
    {
        lock (_lock)
            return IsAcknowledgedLocked(position);
    }

    /// <summary>Batch indexes of the entry acknowledged so far (empty when none or when the entry is acknowledged as a whole).</summary>
    public IReadOnlyList<int> AckedBatchIndexes(Position position)
    {
        lock (_lock)
            return _batches.TryGetValue(position, out var batch) ? batch.Indexes() : [];
    }

    /// <summary>Messages of the batch entry acknowledged so far (0 when none or when the entry is acknowledged as a whole).</summary>
    public int AckedBatchCount(Position position)
    {
        lock (_lock)
            return _batches.TryGetValue(position, out var batch) ? batch.Count : 0;
    }

    private bool IsAcknowledgedLocked(Position position) => position <= _markDelete || _acked.Contains(position);

    /// <summary>Under the lock: the first position at or after <paramref name="position"/> (and after the mark-delete position) not acknowledged.</summary>
    private Position SkipAcknowledgedLocked(Position position)
    {
        position = Ledger.Settle(position);
        if (position <= _markDelete)
            position = Ledger.GetNextPosition(_markDelete);
        while (_acked.Find(position) is { } range)
            position = Ledger.GetNextPosition(range.End);
        return position;
    }
}
