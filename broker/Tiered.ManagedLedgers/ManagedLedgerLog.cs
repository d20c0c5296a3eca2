using Microsoft.Extensions.Logging;

namespace Tiered.ManagedLedgers;

/// <summary>The managed ledger's log messages (event ids 5000–5999, see docs/observability.md).</summary>
internal static partial class ManagedLedgerLog
{
    [LoggerMessage(EventId = 5001, EventName = nameof(Opened), Level = LogLevel.Information, Message = "Managed ledger {Name} opened: {Ledgers} ledgers, {Entries} entries, current ledger {LedgerId}, {Cursors} cursors")]
    public static partial void Opened(ILogger logger, string name, int ledgers, long entries, long ledgerId, int cursors);

    [LoggerMessage(EventId = 5002, EventName = nameof(Recovered), Level = LogLevel.Information, Message = "Managed ledger {Name}: recovered ledger {LedgerId} of the previous owner with {Entries} entries")]
    public static partial void Recovered(ILogger logger, string name, long ledgerId, long entries);

    [LoggerMessage(EventId = 5003, EventName = nameof(RolledOver), Level = LogLevel.Information, Message = "Managed ledger {Name}: rolled over from ledger {OldLedgerId} ({Entries} entries, {Size} bytes) to ledger {NewLedgerId}")]
    public static partial void RolledOver(ILogger logger, string name, long oldLedgerId, long entries, long size, long newLedgerId);

    [LoggerMessage(EventId = 5004, EventName = nameof(AddFailed), Level = LogLevel.Warning, Message = "Managed ledger {Name}: an add to ledger {LedgerId} failed; the next adds go to a new ledger")]
    public static partial void AddFailed(ILogger logger, string name, long ledgerId, Exception error);

    [LoggerMessage(EventId = 5005, EventName = nameof(Fenced), Level = LogLevel.Warning, Message = "Managed ledger {Name} was fenced: another owner took it over; this instance stops")]
    public static partial void Fenced(ILogger logger, string name, Exception error);

    [LoggerMessage(EventId = 5006, EventName = nameof(CloseFailed), Level = LogLevel.Warning, Message = "Managed ledger {Name}: closing ledger {LedgerId} failed; it is recovered when read")]
    public static partial void CloseFailed(ILogger logger, string name, long ledgerId, Exception error);

    [LoggerMessage(EventId = 5007, EventName = nameof(CreateLedgerFailed), Level = LogLevel.Warning, Message = "Managed ledger {Name}: starting a new ledger failed; adds fail until one can be created")]
    public static partial void CreateLedgerFailed(ILogger logger, string name, Exception error);

    [LoggerMessage(EventId = 5008, EventName = nameof(Trimmed), Level = LogLevel.Information, Message = "Managed ledger {Name}: trimmed {Count} ledgers ({Entries} entries, {Size} bytes)")]
    public static partial void Trimmed(ILogger logger, string name, int count, long entries, long size);

    [LoggerMessage(EventId = 5009, EventName = nameof(DeleteLedgerFailed), Level = LogLevel.Warning, Message = "Managed ledger {Name}: deleting ledger {LedgerId} failed; it is no longer listed")]
    public static partial void DeleteLedgerFailed(ILogger logger, string name, long ledgerId, Exception error);

    [LoggerMessage(EventId = 5010, EventName = nameof(CursorStoreFailed), Level = LogLevel.Warning, Message = "Managed ledger {Name}: storing cursor {Cursor} failed")]
    public static partial void CursorStoreFailed(ILogger logger, string name, string cursor, Exception error);

    [LoggerMessage(EventId = 5011, EventName = nameof(CursorCreated), Level = LogLevel.Information, Message = "Managed ledger {Name}: cursor {Cursor} created at mark-delete position {Position}")]
    public static partial void CursorCreated(ILogger logger, string name, string cursor, Position position);

    [LoggerMessage(EventId = 5012, EventName = nameof(Closed), Level = LogLevel.Information, Message = "Managed ledger {Name} closed")]
    public static partial void Closed(ILogger logger, string name);

    [LoggerMessage(EventId = 5013, EventName = nameof(LedgerOffloaded), Level = LogLevel.Information, Message = "Managed ledger {Name}: ledger {LedgerId} offloaded to {Location}")]
    public static partial void LedgerOffloaded(ILogger logger, string name, long ledgerId, string location);

    [LoggerMessage(EventId = 5014, EventName = nameof(OffloadFailed), Level = LogLevel.Warning, Message = "Managed ledger {Name}: offloading ledger {LedgerId} failed; it stays on the bookies")]
    public static partial void OffloadFailed(ILogger logger, string name, long ledgerId, Exception error);

    [LoggerMessage(EventId = 5015, EventName = nameof(BookieCopyDeleted), Level = LogLevel.Information, Message = "Managed ledger {Name}: ledger {LedgerId} deleted from the bookies; it is read from {Location}")]
    public static partial void BookieCopyDeleted(ILogger logger, string name, long ledgerId, string location);

    [LoggerMessage(EventId = 5016, EventName = nameof(DeleteOffloadedFailed), Level = LogLevel.Warning, Message = "Managed ledger {Name}: deleting offloaded objects of ledger {LedgerId} failed")]
    public static partial void DeleteOffloadedFailed(ILogger logger, string name, long ledgerId, Exception error);
}
