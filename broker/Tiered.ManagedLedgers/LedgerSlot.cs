using Tiered.ManagedLedgers.Stored;
using Tiered.Offloader.Stored;

namespace Tiered.ManagedLedgers;

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

    /// <summary>The offload of this ledger, started or complete; null when never offloaded. Replaced, never changed in place.</summary>
    public OffloadedLedger? Offload { get; init; }

    /// <summary>The bookies' copy is deleted: only the offloaded objects hold the entries.</summary>
    public bool BookieDeleted { get; init; }

    public bool IsOffloaded => Offload is { Complete: true };

    /// <summary>A copy of this (closed) ledger with a new offload state, to store before it replaces this one.</summary>
    public LedgerSlot With(OffloadedLedger? offload, bool bookieDeleted) => new(LedgerId, CreatedMs)
    {
        Entries = Entries,
        Size = Size,
        ClosedMs = ClosedMs,
        Offload = offload,
        BookieDeleted = bookieDeleted,
    };

    public static LedgerSlot FromStored(LedgerInfo info) => new(info.LedgerId, info.CreatedMs)
    {
        Entries = info.Entries,
        Size = info.Size,
        ClosedMs = info.ClosedMs,
        Offload = info.Offload,
        BookieDeleted = info.BookieDeleted,
    };

    /// <summary>What is stored: an open ledger's counts are not known to the next owner until it recovers the ledger.</summary>
    public LedgerInfo ToStored() => new()
    {
        LedgerId = LedgerId,
        Entries = IsClosed ? Entries : 0,
        Size = IsClosed ? Size : 0,
        CreatedMs = CreatedMs,
        ClosedMs = ClosedMs,
        Offload = Offload,
        BookieDeleted = BookieDeleted,
    };
}
