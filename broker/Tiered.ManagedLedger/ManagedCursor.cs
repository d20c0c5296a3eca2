namespace Tiered.ManagedLedger;

/// <summary>
/// A subscription's place in a managed ledger: the mark-delete position (every entry up to it is
/// acknowledged), the entries after it acknowledged individually (and single messages of batches),
/// and the read position (the next entry to hand out). A durable cursor stores its acknowledgement
/// state in the metadata service; an acknowledgement completes only once stored, with one store
/// in flight per cursor and every acknowledgement that arrived meanwhile in the next (group
/// commit). The read position is not stored: after a restart reading starts after the mark-delete
/// position and skips what was acknowledged individually.
/// </summary>
public sealed partial class ManagedCursor
{
    private ManagedCursor() => throw new NotImplementedException();

    public string Name => throw new NotImplementedException();

    public bool IsDurable => throw new NotImplementedException();

    public ManagedLedger Ledger => throw new NotImplementedException();

    public Position MarkDeletePosition => throw new NotImplementedException();

    /// <summary>The next entry <see cref="ReadEntriesAsync"/> returns (if not acknowledged meanwhile).</summary>
    public Position ReadPosition => throw new NotImplementedException();

    /// <summary>Entries after the mark-delete position not yet acknowledged, up to the last confirmed entry.</summary>
    public long Backlog => throw new NotImplementedException();

    /// <summary>Entries acknowledged individually after the mark-delete position, as ranges of positions (inclusive).</summary>
    public IReadOnlyList<(Position First, Position Last)> AckedRanges => throw new NotImplementedException();

    /// <summary>
    /// Up to <paramref name="maxEntries"/> entries from the read position on, skipping acknowledged
    /// ones, and moves the read position past them. Empty when there is nothing new.
    /// </summary>
    public ValueTask<IReadOnlyList<ManagedEntry>> ReadEntriesAsync(int maxEntries, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Completes once an entry at or after the read position is confirmed.</summary>
    public ValueTask WaitForEntriesAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Moves the read position back to the first entry after the mark-delete position.</summary>
    public void Rewind() => throw new NotImplementedException();

    /// <summary>Moves the read position (acknowledgement state unchanged).</summary>
    public void Seek(Position nextToRead) => throw new NotImplementedException();

    /// <summary>Whether the entry is acknowledged as a whole.</summary>
    public bool IsAcknowledged(Position position) => throw new NotImplementedException();

    /// <summary>Batch indexes of the entry acknowledged so far (empty when none or when the entry is acknowledged as a whole).</summary>
    public IReadOnlyList<int> AckedBatchIndexes(Position position) => throw new NotImplementedException();

    /// <summary>Acknowledges entries or single batch messages; completes once stored (durable cursors).</summary>
    public ValueTask AckAsync(IReadOnlyList<AckPosition> acks, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Acknowledges everything up to and including <paramref name="upTo"/>; completes once stored.</summary>
    public ValueTask AckCumulativeAsync(AckPosition upTo, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Resets to <paramref name="nextToRead"/>: everything before it is acknowledged, nothing from it on; stored.</summary>
    public ValueTask ResetAsync(Position nextToRead, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Acknowledges the next <paramref name="entries"/> unacknowledged entries after the mark-delete position; stored.</summary>
    public ValueTask SkipAsync(long entries, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Acknowledges everything up to the last confirmed entry; stored.</summary>
    public ValueTask ClearBacklogAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();
}
