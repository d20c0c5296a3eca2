using Microsoft.Extensions.Logging;

namespace Tiered.Cli;

internal static partial class LogMessages
{
    [LoggerMessage(EventId = 9001, EventName = nameof(Stopping), Level = LogLevel.Information, Message = "Stop requested: stopping {What}")]
    public static partial void Stopping(this ILogger logger, string what);

    [LoggerMessage(EventId = 9002, EventName = nameof(Stopped), Level = LogLevel.Information, Message = "{What} stopped")]
    public static partial void Stopped(this ILogger logger, string what);

    [LoggerMessage(EventId = 9003, EventName = nameof(Failed), Level = LogLevel.Debug, Message = "{What} failed")]
    public static partial void Failed(this ILogger logger, Exception exception, string what);

    [LoggerMessage(EventId = 9004, EventName = nameof(Created), Level = LogLevel.Information, Message = "Created {Key}")]
    public static partial void Created(this ILogger logger, string key);

    [LoggerMessage(EventId = 9005, EventName = nameof(ReleasedIdleMemory), Level = LogLevel.Information, Message = "Idle after load: gave memory back, GC heap committed {BeforeMiB} MiB -> {AfterMiB} MiB, process resident {ResidentMiB} MiB")]
    public static partial void ReleasedIdleMemory(this ILogger logger, long beforeMiB, long afterMiB, long residentMiB);
}
