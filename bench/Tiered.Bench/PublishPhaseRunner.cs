using System.Globalization;
using Tiered.Client;

namespace Tiered.Bench;

/// <summary>
/// Runs measured publish phases against one broker: each on a new topic, optionally after a warm-up
/// of the same workload on another topic (not reported), with a summary line on stderr. Shared by
/// the benchmarks that publish through <see cref="PublishWorkload"/>, so that their phases are the
/// same workload and their figures can be compared.
/// </summary>
/// <param name="serverPid">The process whose CPU is measured with each phase (the standalone).</param>
/// <param name="warmup">How long a warm-up runs; zero skips it.</param>
/// <param name="receiverQueue">The consumers' ReceiverQueueSize.</param>
public sealed class PublishPhaseRunner(TieredClient client, int serverPid, TimeSpan warmup, int receiverQueue)
{
    private int _topics;

    /// <summary>A new topic for <paramref name="phase"/>, numbered so that no two phases of a run share one.</summary>
    public string NextTopic(string phase) => FormattableString.Invariant($"persistent://public/default/bench-{phase}-{++_topics}");

    /// <summary>Warms up (if <paramref name="warmUp"/> and a warm-up is set), then measures <paramref name="setup"/> for <paramref name="duration"/>.</summary>
    /// <param name="phase">Names the topics (bench-PHASE-N).</param>
    /// <param name="label">Prefixes the progress and summary lines (default: the setup's name).</param>
    public async Task<PublishPhaseResult> MeasureAsync(string phase, PublishSetup setup, TimeSpan duration, bool warmUp, CancellationToken cancellationToken, string? label = null)
    {
        label ??= setup.Name;
        if (warmUp && warmup > TimeSpan.Zero)
            await new PublishWorkload(client, NextTopic("warmup"), setup, receiverQueue).RunAsync(warmup, serverPid, $"warm-up: {label}", cancellationToken);
        var result = await new PublishWorkload(client, NextTopic(phase), setup, receiverQueue).RunAsync(duration, serverPid, label, cancellationToken);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {label}: {result.MessagesPerSecond:N0} msg/s, {result.MBPerSecond:N1} MB/s, publish p50 {PublishPhaseResult.Ms(result.PublishMicros, 50):F2} ms p99 {PublishPhaseResult.Ms(result.PublishMicros, 99):F2} ms, errors {result.Errors}"));
        return result;
    }
}
