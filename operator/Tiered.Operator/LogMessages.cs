using Microsoft.Extensions.Logging;

namespace Tiered.Operator;

internal static partial class LogMessages
{
    [LoggerMessage(EventId = 14000, EventName = nameof(StartedLeading), Level = LogLevel.Information, Message = "{Identity} leads the operator (lease {Namespace}/{Lease})")]
    public static partial void StartedLeading(this ILogger logger, string identity, string @namespace, string lease);

    [LoggerMessage(EventId = 14001, EventName = nameof(StoppedLeading), Level = LogLevel.Warning, Message = "{Identity} lost the lease; it stops reconciling")]
    public static partial void StoppedLeading(this ILogger logger, string identity);

    [LoggerMessage(EventId = 14002, EventName = nameof(ElectionError), Level = LogLevel.Warning, Message = "Leader election: {Error}")]
    public static partial void ElectionError(this ILogger logger, string error);

    [LoggerMessage(EventId = 14003, EventName = nameof(Acted), Level = LogLevel.Information, Message = "{Namespace}/{Name}: {Action}")]
    public static partial void Acted(this ILogger logger, string @namespace, string name, string action);

    [LoggerMessage(EventId = 14004, EventName = nameof(Invalid), Level = LogLevel.Warning, Message = "{Namespace}/{Name} is not valid, nothing changed: {Reason}: {Message}")]
    public static partial void Invalid(this ILogger logger, string @namespace, string name, string reason, string message);

    [LoggerMessage(EventId = 14005, EventName = nameof(Conflict), Level = LogLevel.Debug, Message = "{Namespace}/{Name}: conflict (someone else wrote first), read again and retry")]
    public static partial void Conflict(this ILogger logger, string @namespace, string name);

    [LoggerMessage(EventId = 14006, EventName = nameof(ReconcileFailed), Level = LogLevel.Warning, Message = "{Namespace}/{Name}: reconcile failed, retrying: {Error}")]
    public static partial void ReconcileFailed(this ILogger logger, string @namespace, string name, string error);

    [LoggerMessage(EventId = 14007, EventName = nameof(WatchEnded), Level = LogLevel.Warning, Message = "Watch of TieredClusters ended ({Error}); watching again")]
    public static partial void WatchEnded(this ILogger logger, string error);
}
