using Microsoft.Extensions.Logging;
using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.ManagedLedger;

/// <summary>One ledger of a managed ledger, for stats: entries and bytes so far.</summary>
public readonly record struct LedgerSummary(long LedgerId, long Entries, long Size, long CreatedMs, bool IsOpen);

/// <summary>
/// A topic's log: an ordered list of ledgers kept in the metadata service under
/// /managed-ledgers/{name}, of which the last is open for adds. Entries are added in order and
/// confirmed in order; the current ledger rolls over by entry count, size or age; consumed
/// ledgers are trimmed by retention. Durable cursors (subscriptions) are stored under
/// /managed-ledger-cursors/{name}/{cursor}. One owner at a time: opening recovers (fences and
/// closes) the previous owner's last ledger, so a crashed owner's half-written ledger is closed
/// at its last confirmed entry.
/// </summary>
public sealed partial class ManagedLedger : IAsyncDisposable
{
    private ManagedLedger() => throw new NotImplementedException();

    /// <summary>The managed ledger's name, e.g. "public/default/persistent/my-topic".</summary>
    public string Name => throw new NotImplementedException();

    /// <summary>
    /// Opens (and with <paramref name="createIfMissing"/> creates) a managed ledger: loads its ledger
    /// list, recovers an unclosed last ledger, starts a new ledger for adds and loads its cursors.
    /// </summary>
    /// <exception cref="ManagedLedgerException">Missing and not to be created, or storage unreachable.</exception>
    public static Task<ManagedLedger> OpenAsync(string name, LedgerClient ledgers, IMetadataStore metadata, ManagedLedgerOptions options,
        ILoggerFactory loggerFactory, bool createIfMissing = true, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Whether a managed ledger of this name is stored.</summary>
    public static Task<bool> ExistsAsync(string name, IMetadataStore metadata, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>
    /// Appends an entry; completes with its position once an ack quorum stored it, in the order
    /// of the calls. The entry is kept in the entry cache by reference: do not change it afterwards.
    /// </summary>
    /// <exception cref="ManagedLedgerFencedException">Another owner took over.</exception>
    /// <exception cref="ManagedLedgerException">The entry could not be stored; it may be added again.</exception>
    public ValueTask<Position> AddEntryAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>The position of the last confirmed entry; (current ledger, -1) when no entry was ever added to a fresh ledger.</summary>
    public Position LastConfirmedEntry => throw new NotImplementedException();

    /// <summary>The first position retained (the oldest entry that can be read).</summary>
    public Position FirstPosition => throw new NotImplementedException();

    /// <summary>The position after <paramref name="position"/> (the first entry of the next ledger when it is the last of its own).</summary>
    public Position GetNextPosition(Position position) => throw new NotImplementedException();

    /// <summary>Entries in (<paramref name="fromExclusive"/>, <paramref name="toInclusive"/>].</summary>
    public long GetEntriesBetween(Position fromExclusive, Position toInclusive) => throw new NotImplementedException();

    /// <summary>
    /// Up to <paramref name="maxEntries"/> confirmed entries starting at <paramref name="from"/>, in
    /// order and across ledgers, from the entry cache when there, else from the bookies. Empty when
    /// <paramref name="from"/> is past the last confirmed entry.
    /// </summary>
    public ValueTask<IReadOnlyList<ManagedEntry>> ReadEntriesAsync(Position from, int maxEntries, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Completes once an entry after <paramref name="position"/> is confirmed (at once if one is).</summary>
    public ValueTask WaitForEntriesAfterAsync(Position position, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>Opens a durable cursor, creating it at <paramref name="initialPosition"/> if it does not exist.</summary>
    public Task<ManagedCursor> OpenCursorAsync(string name, InitialPosition initialPosition, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();

    /// <summary>A cursor that is not stored: for readers. The first entry it reads is the one after <paramref name="startExclusive"/>.</summary>
    public ManagedCursor OpenNonDurableCursor(Position startExclusive) => throw new NotImplementedException();

    /// <summary>Deletes a durable cursor and its stored state. False if there was none.</summary>
    public Task<bool> DeleteCursorAsync(string name, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>The durable cursors.</summary>
    public IReadOnlyCollection<ManagedCursor> Cursors => throw new NotImplementedException();

    /// <summary>
    /// Deletes closed ledgers whose every entry every durable cursor has acknowledged (every closed
    /// ledger when there is no durable cursor) and that fall outside <paramref name="retention"/>.
    /// The current ledger is never deleted.
    /// </summary>
    public Task TrimAsync(RetentionPolicy retention, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>The ledgers, oldest first, the last one the open current ledger.</summary>
    public IReadOnlyList<LedgerSummary> Ledgers => throw new NotImplementedException();

    /// <summary>Entries and bytes retained.</summary>
    public long NumberOfEntries => throw new NotImplementedException();

    public long TotalSize => throw new NotImplementedException();

    /// <summary>Entries added since this instance opened.</summary>
    public long EntriesAddedCounter => throw new NotImplementedException();

    /// <summary>Deletes every ledger, cursor and the stored state. The instance is closed afterwards.</summary>
    public Task DeleteAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Waits for pending adds, stores the cursors, closes the current ledger.</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
