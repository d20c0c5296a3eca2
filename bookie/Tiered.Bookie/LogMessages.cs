using Microsoft.Extensions.Logging;

namespace Tiered.Bookie;

/// <summary>The bookie's log messages: event ids 2000–2999 (see docs/observability.md).</summary>
internal static partial class LogMessages
{
    [LoggerMessage(EventId = 2003, EventName = nameof(AdvertisingHostName), Level = LogLevel.Warning, Message = "The bookie listens on {Listen}, every interface, which nobody can dial: it advertises {Address} (this machine's host name) instead. Set --advertised-address to choose the address writers use")]
    public static partial void AdvertisingHostName(ILogger logger, string listen, string address);

    [LoggerMessage(EventId = 2011, EventName = nameof(FlushFailed), Level = LogLevel.Error, Message = "Flushing the write cache to the entry logs failed; will retry")]
    public static partial void FlushFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 2012, EventName = nameof(Replayed), Level = LogLevel.Information, Message = "Replayed {Adds} journaled adds from journal file {FileId} offset {Offset}")]
    public static partial void Replayed(ILogger logger, int adds, long fileId, long offset);

    [LoggerMessage(EventId = 2013, EventName = nameof(Compacted), Level = LogLevel.Information, Message = "Entry log {LogId} compacted: {Moved} live entries moved, {Dropped} deleted entries dropped, {Bytes} bytes reclaimed")]
    public static partial void Compacted(ILogger logger, long logId, long moved, long dropped, long bytes);

    [LoggerMessage(EventId = 2014, EventName = nameof(GcFailed), Level = LogLevel.Error, Message = "Entry log garbage collection failed; will retry")]
    public static partial void GcFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 2021, EventName = nameof(Started), Level = LogLevel.Information, Message = "Bookie {BookieId} started with {Ledgers} ledgers, {State}")]
    public static partial void Started(ILogger logger, string bookieId, int ledgers, string state);

    [LoggerMessage(EventId = 2022, EventName = nameof(StateChanged), Level = LogLevel.Warning, Message = "Bookie {BookieId} is now {State} (disk {Usage:P0} used)")]
    public static partial void StateChanged(ILogger logger, string bookieId, string state, double usage);

    [LoggerMessage(EventId = 2023, EventName = nameof(RegistrationFailed), Level = LogLevel.Warning, Message = "Could not update the bookie's registration")]
    public static partial void RegistrationFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 2024, EventName = nameof(JournalUnusable), Level = LogLevel.Error, Message = "Bookie {BookieId}: its journal is unusable (a write or fsync failed, e.g. the disk is full); it is read-only until restarted")]
    public static partial void JournalUnusable(ILogger logger, string bookieId);

    [LoggerMessage(EventId = 2025, EventName = nameof(Decommissioned), Level = LogLevel.Warning, Message = "Bookie {BookieId} is being decommissioned: it is read-only for good and ends its add streams; auto-recovery copies its ledgers to other bookies, after which it can be stopped and its data deleted")]
    public static partial void Decommissioned(ILogger logger, string bookieId);

    [LoggerMessage(EventId = 2031, EventName = nameof(CallFailed), Level = LogLevel.Error, Message = "Bookie call {Method} failed")]
    public static partial void CallFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 2032, EventName = nameof(CallEndedStopping), Level = LogLevel.Debug, Message = "Bookie call {Method} ended: the bookie is stopping")]
    public static partial void CallEndedStopping(ILogger logger, string method);
}
