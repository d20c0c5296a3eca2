using Microsoft.Extensions.Logging;
using Tiered.Metadata;

namespace Tiered.AdminApi;

/// <summary>The admin API's log events (event ids 7000–7999, see docs/observability.md).</summary>
internal static partial class LogMessages
{
    [LoggerMessage(EventId = 7001, EventName = nameof(Refused), Level = LogLevel.Debug, Message = "Admin {Method} {Path} refused with {Status}: {Reason}")]
    public static partial void Refused(this ILogger logger, string method, string path, int status, string reason);

    [LoggerMessage(EventId = 7002, EventName = nameof(MetadataFailed), Level = LogLevel.Warning, Message = "Admin {Method} {Path} failed in the metadata service ({Code}): {Reason}")]
    public static partial void MetadataFailed(this ILogger logger, string method, string path, MetadataErrorCode code, string reason);

    [LoggerMessage(EventId = 7003, EventName = nameof(Failed), Level = LogLevel.Error, Message = "Admin {Method} {Path} failed")]
    public static partial void Failed(this ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 7004, EventName = nameof(Redirected), Level = LogLevel.Debug, Message = "Admin {Method} {Path} redirected to the topic's owner at {Location}")]
    public static partial void Redirected(this ILogger logger, string method, string path, string location);
}
