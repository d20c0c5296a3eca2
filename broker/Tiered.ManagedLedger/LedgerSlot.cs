using Tiered.ManagedLedger.Stored;

namespace Tiered.ManagedLedger;

/// <summary>
/// One ledger of the list, as the managed ledger knows it. Mutable only under the managed
/// ledger's lock: the open current ledger's counts grow as its adds are confirmed.
/// </summary>
internal sealed class LedgerSlot(long ledgerId, long createdMs)
{
    public long LedgerId { get; } = ledgerId;

    public long CreatedMs { get; } = createdMs;

    /// <summary>Confirmed entries (ids 0 … Entries − 1).</summary>
    public long Entries { get; set; }

    public long Size { get; set; }

    /// <summary>When it was closed; 0 while it is open.</summary>
    public long ClosedMs { get; set; }

    public bool IsClosed => ClosedMs != 0;

    public static LedgerSlot FromStored(LedgerInfo info) => new(info.LedgerId, info.CreatedMs)
    {
        Entries = info.Entries,
        Size = info.Size,
        ClosedMs = info.ClosedMs,
    };

    /// <summary>What is stored: an open ledger's counts are not known to the next owner until it recovers the ledger.</summary>
    public LedgerInfo ToStored() => new()
    {
        LedgerId = LedgerId,
        Entries = IsClosed ? Entries : 0,
        Size = IsClosed ? Size : 0,
        CreatedMs = CreatedMs,
        ClosedMs = ClosedMs,
    };
}
