using System.CommandLine;
using Tiered.Bench.Cluster;

namespace Tiered.Bench;

/// <summary>Settings of the cluster benchmark, as given on the command line.</summary>
public sealed record ClusterBenchOptions(
    IReadOnlySet<string> Phases,
    int MetadataNodes,
    int FailoverTrials,
    int WarmLookups,
    int ColdLookups,
    int UnloadTrials,
    int ThroughputTopics,
    int Bundles,
    TimeSpan Duration,
    int ManyTopics,
    double SteadyRate,
    string? DataDir)
{
    public const string Throughput = "throughput";
    public const string Lookup = "lookup";
    public const string Unload = "unload";
    public const string Failover = "failover";
    public const string Topics = "topics";
    public static readonly string[] AllPhases = [Throughput, Lookup, Unload, Failover, Topics];

    /// <summary>Bookies, and the quorums of every ledger (E, Qw, Qa).</summary>
    public const int Bookies = 3;
    public static readonly (int E, int Qw, int Qa) Quorum = (3, 2, 2);

    /// <summary>Brokers of the full cluster.</summary>
    public const int Brokers = 3;

    public bool Runs(string phase) => Phases.Contains(phase);

    /// <summary>The command line that repeats this run.</summary>
    public string CommandLine => FormattableString.Invariant(
        $"cluster --phases {string.Join(',', AllPhases.Where(Runs))} --metadata-nodes {MetadataNodes} --failover-trials {FailoverTrials} ")
        + FormattableString.Invariant($"--warm-lookups {WarmLookups} --cold-lookups {ColdLookups} --unload-trials {UnloadTrials} --throughput-topics {ThroughputTopics} ")
        + FormattableString.Invariant($"--bundles {Bundles} --duration {Duration.TotalSeconds:0.###} --many-topics {ManyTopics} --steady-rate {SteadyRate:0.###}")
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>
/// <c>tiered-bench cluster</c>: a cluster of brokers as separate <c>tiered broker</c> processes
/// (each an Orleans silo) over metadata nodes and 3 bookies on this machine, driven by the .NET
/// client with a multi-host service URL: publish throughput with 1, 2 and 3 brokers, Lookup latency
/// of owned and of fresh bundles, the pause a producer sees while its bundle is unloaded, failover
/// after kill -9 of a topic's owner (cross-checked with the surviving brokers' logs), and the time
/// and broker memory of 10,000 topics.
/// </summary>
public static class ClusterCommand
{
    public static Command Create()
    {
        var phases = new Option<string>("--phases")
        {
            HelpName = "PHASE,...",
            Description = $"Phases to run, comma-separated, from {string.Join(',', ClusterBenchOptions.AllPhases)} (always in that order). "
                + "Throughput starts with 1 broker and adds the 2nd and 3rd; without it the cluster starts with 3.",
            DefaultValueFactory = _ => string.Join(',', ClusterBenchOptions.AllPhases),
        };
        phases.Validators.Add(result =>
        {
            if (ParsePhases(result.GetValueOrDefault<string>()) is null)
                result.AddError($"--phases must be a comma-separated list of {string.Join(", ", ClusterBenchOptions.AllPhases)}.");
        });
        var metadataNodes = new Option<int>("--metadata-nodes") { HelpName = "N", Description = "Metadata nodes (1 or 3).", DefaultValueFactory = _ => 3 };
        metadataNodes.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is not (1 or 3))
                result.AddError("--metadata-nodes must be 1 or 3.");
        });
        var failoverTrials = CommandOptions.Positive("--failover-trials", "N", "kill -9 trials of the failover phase.", 20);
        var warmLookups = CommandOptions.Positive("--warm-lookups", "N", "Lookups of topics in owned bundles.", 2000);
        var coldLookups = CommandOptions.Positive("--cold-lookups", "N", "Lookups of topics in fresh bundles (each the first of its bundle).", 200);
        var unloadTrials = CommandOptions.Positive("--unload-trials", "N", "Bundle unloads under a steady producer.", 5);
        var throughputTopics = CommandOptions.Positive("--throughput-topics", "N", "Topics (one batched producer each) of the throughput phase.", 30);
        var bundles = CommandOptions.Positive("--bundles", "N", "Bundles of the throughput namespace.", 12);
        var duration = CommandOptions.Positive("--duration", "SECONDS", "How long each throughput measurement runs.", 20);
        var manyTopics = CommandOptions.Positive("--many-topics", "N", "Topics of the last phase: each looked up, opened with a producer, sent one message and closed.", 10_000);
        var steadyRate = CommandOptions.Positive("--steady-rate", "MSG/S", "Pace of the steady producer of the failover and unload phases (unbatched 100 B messages).", 200);
        var dataDir = CommandOptions.DataDir();
        var command = new Command("cluster",
            "A cluster of 3 brokers (separate tiered broker processes) over metadata nodes and 3 bookies: throughput with 1, 2, 3 brokers, "
            + "Lookup latency (owned and fresh bundles), the pause of a bundle unload, failover after kill -9 of an owner, and 10,000 topics.")
        {
            phases, metadataNodes, failoverTrials, warmLookups, coldLookups, unloadTrials, throughputTopics, bundles, duration, manyTopics, steadyRate, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => new ClusterRun(new ClusterBenchOptions(
            ParsePhases(parseResult.GetValue(phases))!,
            parseResult.GetValue(metadataNodes),
            parseResult.GetValue(failoverTrials),
            parseResult.GetValue(warmLookups),
            parseResult.GetValue(coldLookups),
            parseResult.GetValue(unloadTrials),
            parseResult.GetValue(throughputTopics),
            parseResult.GetValue(bundles),
            TimeSpan.FromSeconds(parseResult.GetValue(duration)),
            parseResult.GetValue(manyTopics),
            parseResult.GetValue(steadyRate),
            parseResult.GetValue(dataDir))).RunAsync(cancellationToken));
        return command;
    }

    private static HashSet<string>? ParsePhases(string? value)
    {
        var parts = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.Any(p => !ClusterBenchOptions.AllPhases.Contains(p)))
            return null;
        return [.. parts];
    }
}
