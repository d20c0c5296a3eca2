using Microsoft.Extensions.Logging;
using Tiered.Metadata;

namespace Tiered.AdminApi;

/// <summary>The admin API's log events (ids 700-799).</summary>
internal static partial class LogMessages
{
    [LoggerMessage(EventId = 701, Level = LogLevel.Debug, Message = "Admin {Method} {Path} refused with {Status}: {Reason}")]
    public static partial void Refused(this ILogger logger, string method, string path, int status, string reason);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "Admin {Method} {Path} failed in the metadata service ({Code}): {Reason}")]
    public static partial void MetadataFailed(this ILogger logger, string method, string path, MetadataErrorCode code, string reason);

    [LoggerMessage(EventId = 703, Level = LogLevel.Error, Message = "Admin {Method} {Path} failed")]
    public static partial void Failed(this ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 704, Level = LogLevel.Debug, Message = "Admin {Method} {Path} redirected to the topic's owner at {Location}")]
    public static partial void Redirected(this ILogger logger, string method, string path, string location);
}
