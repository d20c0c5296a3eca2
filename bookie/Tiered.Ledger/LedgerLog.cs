using Microsoft.Extensions.Logging;

namespace Tiered.Ledger;

/// <summary>The ledger client's log messages (event ids 3xx).</summary>
internal static partial class LedgerLog
{
    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Created ledger {LedgerId} on {Ensemble} (E={E}, Qw={Qw}, Qa={Qa})")]
    public static partial void Created(ILogger logger, long ledgerId, string ensemble, int e, int qw, int qa);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Bookie {BookieId} failed for ledger {LedgerId}")]
    public static partial void BookieFailed(ILogger logger, string bookieId, long ledgerId, Exception error);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Ledger {LedgerId} was fenced; its writer stops")]
    public static partial void Fenced(ILogger logger, long ledgerId);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Entry {LedgerId}:{EntryId} from bookie {BookieId} does not match its digest; trying another replica")]
    public static partial void DigestMismatch(ILogger logger, long ledgerId, long entryId, string bookieId);

    [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "Reading entry {LedgerId}:{EntryId} from bookie {BookieId} failed: {Reason}; trying another replica")]
    public static partial void ReplicaReadFailed(ILogger logger, long ledgerId, long entryId, string bookieId, string reason);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Closed ledger {LedgerId} at entry {LastEntryId} ({Length} bytes)")]
    public static partial void Closed(ILogger logger, long ledgerId, long lastEntryId, long length);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "Could not delete ledger {LedgerId} on bookie {BookieId}; its entries stay until the bookie's garbage collection finds the ledger gone")]
    public static partial void DeleteOnBookieFailed(ILogger logger, long ledgerId, string bookieId, Exception error);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "Recovered ledger {LedgerId}: closed at entry {LastEntryId} ({Length} bytes)")]
    public static partial void Recovered(ILogger logger, long ledgerId, long lastEntryId, long length);

    [LoggerMessage(EventId = 309, Level = LogLevel.Information, Message = "Ledger {LedgerId}: replaced bookie {FailedBookieId} by {ReplacementBookieId} at ensemble position {Position} from entry {FirstEntryId}")]
    public static partial void EnsembleChanged(ILogger logger, long ledgerId, string failedBookieId, string replacementBookieId, int position, long firstEntryId);
}
