using System.CommandLine;
using System.Diagnostics;
using Tiered.Client;

namespace Tiered.Cli.Messaging;

/// <summary><c>tiered perf produce|consume</c>: load generators with live throughput and latency, and an HDR histogram at the end.</summary>
internal static partial class PerfCommand
{
    public static Command Create() => new(
        "perf",
        "Measure a running cluster: 'perf produce' publishes at a rate (publish latency: send to receipt), 'perf consume' "
        + "receives and acknowledges (end-to-end latency: publish time to receive). Progress on stderr every second; "
        + "a summary and the latency percentile distribution on stdout at the end.")
    {
        CreateProduce(),
        CreateConsume(),
    };

    private static Option<double> Duration() => ClientCommandLine.NotNegative("--duration", "SECONDS", "How long to run; 0 runs until Ctrl-C.", 0);

    /// <summary>A token cancelled on Ctrl-C or SIGTERM, or after <paramref name="seconds"/> when positive.</summary>
    private static CancellationTokenSource RunToken(Shutdown shutdown, double seconds)
    {
        var run = CancellationTokenSource.CreateLinkedTokenSource(shutdown.Token);
        if (seconds > 0)
            run.CancelAfter(TimeSpan.FromSeconds(seconds));
        return run;
    }

    private static long MicrosSince(long startTimestamp) => (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;

    private static async Task<int> FailAsync(Exception e, string url) => Exit.Error(Exit.Failed, await ClientCommandLine.ErrorMessageAsync(e, url));

    private static bool IsClientError(Exception e) => e is TieredClientException or ArgumentException or ObjectDisposedException;
}
