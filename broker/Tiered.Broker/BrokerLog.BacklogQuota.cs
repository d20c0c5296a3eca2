using Microsoft.Extensions.Logging;

namespace Tiered.Broker;

/// <summary>Backlog quotas' log messages (event ids 4060–4069 of the broker's range).</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(EventId = 4060, EventName = nameof(BacklogQuotaExceeded), Level = LogLevel.Information,
        Message = "Topic {Topic}: backlog quota exceeded ({Reason}); policy {Policy}")]
    public static partial void BacklogQuotaExceeded(ILogger logger, string topic, string reason, string policy);

    [LoggerMessage(EventId = 4061, EventName = nameof(BacklogQuotaCleared), Level = LogLevel.Information,
        Message = "Topic {Topic}: backlog back under its quota; {Released} held batches are being stored")]
    public static partial void BacklogQuotaCleared(ILogger logger, string topic, int released);

    [LoggerMessage(EventId = 4062, EventName = nameof(BacklogEvicted), Level = LogLevel.Information,
        Message = "Topic {Topic} subscription {Subscription}: moved to {Position} by the backlog quota ({Type}, consumer_backlog_eviction)")]
    public static partial void BacklogEvicted(ILogger logger, string topic, string subscription, string position, string type);

    [LoggerMessage(EventId = 4063, EventName = nameof(BacklogQuotaCheckFailed), Level = LogLevel.Warning,
        Message = "Checking the backlog quota of {Topic} failed; retrying at the next check")]
    public static partial void BacklogQuotaCheckFailed(ILogger logger, string topic, Exception exception);
}
