using Microsoft.Extensions.Logging;

namespace Tiered.Security.Hosting;

internal static partial class SecurityLog
{
    [LoggerMessage(EventId = 13000, EventName = nameof(AnonymousAccess), Level = LogLevel.Warning, Message = "{Warning}")]
    public static partial void AnonymousAccess(ILogger logger, string warning);
}
