using System.CommandLine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Tiered.Cli;

/// <summary>
/// The global <c>--log-level</c> option and the console logger of every command. Logs go to
/// stderr, one line each, so stdout carries only the lines a command prints on purpose
/// (such as "listening on ..."), which scripts and test fixtures wait for.
/// </summary>
internal static class ConsoleLogging
{
    public static readonly Option<LogLevel> LevelOption = new("--log-level")
    {
        Description = "Least severe level that is logged (to stderr). Debug shows every Raft message exchange.",
        DefaultValueFactory = _ => LogLevel.Information,
        Recursive = true,
    };

    public static ILoggerFactory CreateFactory(ParseResult parseResult)
    {
        var level = parseResult.GetValue(LevelOption);
        // ASP.NET Core's informational lines (hosting environment, content root) repeat what the
        // command prints itself; they come back from Debug down.
        var frameworkLevel = level >= LogLevel.Information && level < LogLevel.Warning ? LogLevel.Warning : level;
        // DotNext logs every failed heartbeat to a stopped peer as a warning with a stack trace,
        // several times a second; the node's own log lines say what matters at Information.
        var raftLevel = level >= LogLevel.Information ? LogLevel.Error : level;
        return LoggerFactory.Create(builder => builder
            .SetMinimumLevel(level)
            .AddFilter("Microsoft", frameworkLevel)
            .AddFilter("Grpc", frameworkLevel)
            .AddFilter("DotNext", raftLevel)
            .AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.TimestampFormat = "HH:mm:ss.fff ";
            }));
    }
}
