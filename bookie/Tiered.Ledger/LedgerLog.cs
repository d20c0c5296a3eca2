using Microsoft.Extensions.Logging;

namespace Tiered.Ledger;

/// <summary>The ledger client's log messages (event ids 3000–3999, see docs/observability.md).</summary>
internal static partial class LedgerLog
{
    [LoggerMessage(EventId = 3001, EventName = nameof(Created), Level = LogLevel.Information, Message = "Created ledger {LedgerId} on {Ensemble} (E={E}, Qw={Qw}, Qa={Qa})")]
    public static partial void Created(ILogger logger, long ledgerId, string ensemble, int e, int qw, int qa);

    [LoggerMessage(EventId = 3002, EventName = nameof(BookieFailed), Level = LogLevel.Warning, Message = "Bookie {BookieId} failed for ledger {LedgerId}")]
    public static partial void BookieFailed(ILogger logger, string bookieId, long ledgerId, Exception error);

    [LoggerMessage(EventId = 3003, EventName = nameof(Fenced), Level = LogLevel.Warning, Message = "Ledger {LedgerId} was fenced; its writer stops")]
    public static partial void Fenced(ILogger logger, long ledgerId);

    [LoggerMessage(EventId = 3004, EventName = nameof(DigestMismatch), Level = LogLevel.Warning, Message = "Entry {LedgerId}:{EntryId} from bookie {BookieId} does not match its digest; trying another replica")]
    public static partial void DigestMismatch(ILogger logger, long ledgerId, long entryId, string bookieId);

    [LoggerMessage(EventId = 3005, EventName = nameof(ReplicaReadFailed), Level = LogLevel.Debug, Message = "Reading entry {LedgerId}:{EntryId} from bookie {BookieId} failed: {Reason}; trying another replica")]
    public static partial void ReplicaReadFailed(ILogger logger, long ledgerId, long entryId, string bookieId, string reason);

    [LoggerMessage(EventId = 3006, EventName = nameof(Closed), Level = LogLevel.Information, Message = "Closed ledger {LedgerId} at entry {LastEntryId} ({Length} bytes)")]
    public static partial void Closed(ILogger logger, long ledgerId, long lastEntryId, long length);

    [LoggerMessage(EventId = 3007, EventName = nameof(DeleteOnBookieFailed), Level = LogLevel.Warning, Message = "Could not delete ledger {LedgerId} on bookie {BookieId}; its entries stay until the bookie's garbage collection finds the ledger gone")]
    public static partial void DeleteOnBookieFailed(ILogger logger, long ledgerId, string bookieId, Exception error);

    [LoggerMessage(EventId = 3008, EventName = nameof(Recovered), Level = LogLevel.Information, Message = "Recovered ledger {LedgerId}: closed at entry {LastEntryId} ({Length} bytes)")]
    public static partial void Recovered(ILogger logger, long ledgerId, long lastEntryId, long length);

    [LoggerMessage(EventId = 3009, EventName = nameof(EnsembleChanged), Level = LogLevel.Information, Message = "Ledger {LedgerId}: replaced bookie {FailedBookieId} by {ReplacementBookieId} at ensemble position {Position} from entry {FirstEntryId}")]
    public static partial void EnsembleChanged(ILogger logger, long ledgerId, string failedBookieId, string replacementBookieId, int position, long firstEntryId);

    [LoggerMessage(EventId = 3020, EventName = nameof(AutoRecoveryActive), Level = LogLevel.Information, Message = "Auto-recovery instance {InstanceId} is now the active auditor")]
    public static partial void AutoRecoveryActive(ILogger logger, string instanceId);

    [LoggerMessage(EventId = 3021, EventName = nameof(AutoRecoveryLostLock), Level = LogLevel.Warning, Message = "Auto-recovery instance {InstanceId} lost the auditor lock")]
    public static partial void AutoRecoveryLostLock(ILogger logger, string instanceId);

    [LoggerMessage(EventId = 3022, EventName = nameof(FragmentRecovered), Level = LogLevel.Information, Message = "Ledger {LedgerId}: re-replicated entries {FirstEntryId}..{LastEntryId} of lost bookie {LostBookieId} to {ReplacementBookieId} (ensemble position {Position}, {Entries} entries)")]
    public static partial void FragmentRecovered(ILogger logger, long ledgerId, long firstEntryId, long lastEntryId, string lostBookieId, string replacementBookieId, int position, int entries);

    [LoggerMessage(EventId = 3026, EventName = nameof(FragmentDrained), Level = LogLevel.Information, Message = "Ledger {LedgerId}: copied entries {FirstEntryId}..{LastEntryId} of decommissioning bookie {BookieId} to {ReplacementBookieId} (ensemble position {Position}, {Entries} entries)")]
    public static partial void FragmentDrained(ILogger logger, long ledgerId, long firstEntryId, long lastEntryId, string bookieId, string replacementBookieId, int position, int entries);

    [LoggerMessage(EventId = 3023, EventName = nameof(AutoRecoveryLedgerFailed), Level = LogLevel.Warning, Message = "Auto-recovery of ledger {LedgerId} failed; retrying on the next pass")]
    public static partial void AutoRecoveryLedgerFailed(ILogger logger, long ledgerId, Exception error);

    [LoggerMessage(EventId = 3025, EventName = nameof(AutoRecoveryWatchFailed), Level = LogLevel.Debug, Message = "Auto-recovery's watch of {Prefix} failed; watching again")]
    public static partial void AutoRecoveryWatchFailed(ILogger logger, string prefix, Exception error);

    [LoggerMessage(EventId = 3024, EventName = nameof(AutoRecoveryPassFailed), Level = LogLevel.Warning, Message = "Auto-recovery pass failed; retrying")]
    public static partial void AutoRecoveryPassFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 3030, EventName = nameof(BookieAddress), Level = LogLevel.Information, Message = "Bookie {BookieId} is reached at {Address}")]
    public static partial void BookieAddress(ILogger logger, string bookieId, string address);

    [LoggerMessage(EventId = 3031, EventName = nameof(AddressWatchFailed), Level = LogLevel.Warning, Message = "Following the bookies' registrations failed; retrying")]
    public static partial void AddressWatchFailed(ILogger logger, Exception error);
}
