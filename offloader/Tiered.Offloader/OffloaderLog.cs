using Microsoft.Extensions.Logging;

namespace Tiered.Offloader;

internal static partial class OffloaderLog
{
    [LoggerMessage(EventId = 6001, EventName = nameof(LedgerOffloaded), Level = LogLevel.Information,
        Message = "Offloaded ledger {LedgerId} of {ManagedLedger}: {Entries} entries, {LedgerBytes} bytes into {Objects} object(s) of {ObjectBytes} bytes in {Location}, {ElapsedMs} ms")]
    public static partial void LedgerOffloaded(ILogger logger, string managedLedger, long ledgerId, long entries, long ledgerBytes, int objects, long objectBytes, string location, long elapsedMs);

    [LoggerMessage(EventId = 6002, EventName = nameof(LeftoversDeleted), Level = LogLevel.Information, Message = "Deleted {Count} object(s) that incomplete offloads of ledger {LedgerId} of {ManagedLedger} left in {Location}")]
    public static partial void LeftoversDeleted(ILogger logger, string managedLedger, long ledgerId, int count, string location);

    [LoggerMessage(EventId = 6003, EventName = nameof(AbandonedWritesDeleted), Level = LogLevel.Information, Message = "Deleted {Count} temporary file(s) of puts cut off by a crash in {Location}")]
    public static partial void AbandonedWritesDeleted(ILogger logger, int count, string location);
}
