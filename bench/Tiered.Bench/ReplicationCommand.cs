using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using Tiered.Client;
using Tiered.Testing;

namespace Tiered.Bench;

/// <summary>Settings of the replication benchmark, as given on the command line.</summary>
/// <param name="LagRate">The lag phase's rate in msg/s; null: half the throughput phase's publish rate.</param>
public sealed record ReplicationBenchOptions(
    TimeSpan Duration,
    TimeSpan Warmup,
    double? LagRate,
    int ReceiverQueue,
    string? DataDir)
{
    /// <summary>The cluster the producer publishes in.</summary>
    public const string Source = "a";

    /// <summary>The cluster the consumer receives in.</summary>
    public const string Target = "b";

    /// <summary>The namespace replicated both ways (a new one, so that nothing else on the standalones is replicated).</summary>
    public const string Namespace = "public/bench-geo";

    /// <summary>The command line that repeats this run.</summary>
    public string CommandLine =>
        FormattableString.Invariant($"replication --duration {Duration.TotalSeconds:0.###} --warmup {Warmup.TotalSeconds:0.###}")
        + (LagRate is { } rate ? FormattableString.Invariant($" --lag-rate {rate:0.###}") : "")
        + FormattableString.Invariant($" --receiver-queue {ReceiverQueue}")
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>
/// <c>tiered-bench replication</c>: two <c>tiered standalone</c> processes on this machine as clusters a and b, a
/// namespace replicated between them both ways (configured through each one's admin API, as an operator would), one
/// producer in a and one consumer in b. First as fast as one producer of 1 KB batched messages goes: a's publish rate
/// and b's arrival rate over the same window, and whether replication kept up; then paced at half that rate: the lag
/// from the send in a to the delivery in b. Every receipted message is checked to arrive in b exactly once.
/// </summary>
public static class ReplicationCommand
{
    public static Command Create()
    {
        var duration = CommandOptions.Positive("--duration", "SECONDS", "How long each measured phase runs (after its warm-up).", 20);
        var warmup = new Option<int>("--warmup")
        {
            HelpName = "SECONDS",
            Description = "How long each phase's producer runs before its measured window (same topic, not reported: the replicator's stream is opened per topic); 0 skips it.",
            DefaultValueFactory = _ => 5,
        };
        warmup.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
                result.AddError("--warmup must be 0 or more.");
        });
        var lagRate = new Option<int>("--lag-rate")
        {
            HelpName = "MSG/S",
            Description = "The lag phase's rate; 0 (the default) takes half the publish rate the throughput phase measured.",
            DefaultValueFactory = _ => 0,
        };
        lagRate.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
                result.AddError("--lag-rate must be 0 (half the measured rate) or more.");
        });
        var receiverQueue = CommandOptions.Positive("--receiver-queue", "N",
            "The consumer's ReceiverQueueSize in b: messages its broker may push ahead (default: the client's default).", new ConsumerOptions("t", "s").ReceiverQueueSize);
        var dataDir = CommandOptions.DataDir();

        var command = new Command("replication",
            "Geo-replication between two `tiered standalone` clusters on this machine: throughput of one producer's 1 KB batched messages "
            + "published in cluster a and received in cluster b (msg/s and MB/s on both sides, and whether replication kept up), then the "
            + "publish → delivery lag p50/p99 at half that rate, every message checked to arrive once, with the disk's limits measured in the same run.")
        {
            duration, warmup, lagRate, receiverQueue, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new ReplicationBenchOptions(
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
                parseResult.GetValue(lagRate) is > 0 and var rate ? rate : null,
                parseResult.GetValue(receiverQueue),
                parseResult.GetValue(dataDir)),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ReplicationBenchOptions options, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);

        using var a = new Standalone("--cluster-name", ReplicationBenchOptions.Source);
        using var b = new Standalone("--cluster-name", ReplicationBenchOptions.Target);
        Console.Error.WriteLine($"starting tiered standalone --cluster-name a in {a.DataDir} and --cluster-name b in {b.DataDir} ({TieredProcess.CliPath})...");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        ReplicationPhaseResult throughput, lag;
        try
        {
            await ConfigureAsync(a, ReplicationBenchOptions.Source, b, ReplicationBenchOptions.Target, cancellationToken);
            await ConfigureAsync(b, ReplicationBenchOptions.Target, a, ReplicationBenchOptions.Source, cancellationToken);
            Console.Error.WriteLine($"  configured: {ReplicationBenchOptions.Namespace} replicated between a and b, both ways");
            await using var clientA = new TieredClient(a.Url);
            await using var clientB = new TieredClient(b.Url);
            using var adminA = new HttpClient { BaseAddress = new Uri(a.AdminUrl) };
            int[] pids = [a.Process!.Pid, b.Process!.Pid];

            ReplicationWorkload Workload(string topic, ReplicationSetup setup) => new(clientA, clientB, adminA,
                $"/admin/v2/persistent/{ReplicationBenchOptions.Namespace}/{topic}/stats", ReplicationBenchOptions.Target,
                $"persistent://{ReplicationBenchOptions.Namespace}/{topic}", setup, options.ReceiverQueue);

            var full = new ReplicationSetup(BrokerBenchOptions.LargeMessage, BrokerBenchOptions.InFlight, null);
            throughput = await Workload("bench-replication-throughput", full)
                .RunAsync(options.Warmup, options.Duration, pids, "throughput", cancellationToken);
            Summarize("throughput", throughput);

            var rate = options.LagRate ?? Math.Max(1, Math.Round(throughput.PublishedPerSecond / 2));
            var paced = full with { RatePerSecond = rate };
            lag = await Workload("bench-replication-lag", paced)
                .RunAsync(options.Warmup, options.Duration, pids, "lag", cancellationToken);
            Summarize("lag", lag);
        }
        catch (Exception e) when (e is TimeoutException or TieredClientException or InvalidOperationException or HttpRequestException)
        {
            Console.Error.WriteLine($"the benchmark failed: {e.Message}");
            Console.Error.WriteLine($"--- tiered standalone a ---\n{a.Process?.Output ?? "(not running)"}");
            Console.Error.WriteLine($"--- tiered standalone b ---\n{b.Process?.Output ?? "(not running)"}");
            throw;
        }

        new ReplicationReport(options, machine, directory.Path, fileSystem, disk, throughput, lag).Write(Console.Out);
        return new[] { throughput, lag }.Sum(r => r.Errors + r.Lost + r.Duplicates) > 0 ? 2 : 0;
    }

    /// <summary>
    /// On <paramref name="local"/>: registers <paramref name="remote"/> with its admin and gRPC URLs, lets the public
    /// tenant use both clusters, and creates <see cref="ReplicationBenchOptions.Namespace"/> replicated to both
    /// (docs/geo-replication.md, steps 2–4).
    /// </summary>
    private static async Task ConfigureAsync(Standalone local, string localName, Standalone remote, string remoteName, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(local.AdminUrl) };
        await SucceedsAsync(await http.PutAsJsonAsync($"/admin/v2/clusters/{remoteName}",
            new { serviceUrl = remote.AdminUrl, brokerServiceUrl = remote.Url }, cancellationToken));
        await SucceedsAsync(await http.PostAsJsonAsync("/admin/v2/tenants/public",
            new { adminRoles = Array.Empty<string>(), allowedClusters = new[] { localName, remoteName } }, cancellationToken));
        await SucceedsAsync(await http.PutAsJsonAsync($"/admin/v2/namespaces/{ReplicationBenchOptions.Namespace}",
            new Dictionary<string, string[]> { ["replication_clusters"] = [localName, remoteName] }, cancellationToken));

        async Task SucceedsAsync(HttpResponseMessage response)
        {
            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException(
                        $"Configuring replication in cluster {localName}: {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered "
                        + $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}. See docs/geo-replication.md for the steps this follows.");
                }
            }
        }
    }

    private static void Summarize(string label, ReplicationPhaseResult r) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {label}: a published {r.PublishedPerSecond:N0} msg/s ({r.PublishedMBPerSecond:N1} MB/s), b received {r.ArrivedPerSecond:N0} msg/s ({r.ArrivedMBPerSecond:N1} MB/s); ")
        + string.Create(CultureInfo.InvariantCulture,
        $"lag p50 {PublishPhaseResult.Ms(r.LagMicros, 50):F2} ms p99 {PublishPhaseResult.Ms(r.LagMicros, 99):F2} ms; lost {r.Lost}, duplicated {r.Duplicates}, errors {r.Errors}"));
}
