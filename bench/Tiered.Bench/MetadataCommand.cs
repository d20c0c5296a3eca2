using System.CommandLine;
using System.Globalization;
using Tiered.Testing;

namespace Tiered.Bench;

/// <summary>Settings of the metadata benchmark, as given on the command line.</summary>
public sealed record MetadataBenchOptions(
    TimeSpan Duration,
    int Writers,
    int ValueSize,
    IReadOnlyList<int> Nodes,
    string? DataDir,
    TimeSpan Warmup,
    TimeSpan SequentialDuration)
{
    /// <summary>The command line that repeats this run.</summary>
    public string CommandLine =>
        FormattableString.Invariant($"metadata --duration {Duration.TotalSeconds:0.###} --writers {Writers} --value-size {ValueSize} --nodes {string.Join(',', Nodes)}")
        + FormattableString.Invariant($" --warmup {Warmup.TotalSeconds:0.###} --sequential-duration {SequentialDuration.TotalSeconds:0.###}")
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>
/// <c>tiered-bench metadata</c>: unconditional puts against real <c>tiered metadata</c> clusters
/// (fsync on) with many concurrent writers and with one, next to the disk's own fsync rate.
/// </summary>
public static class MetadataCommand
{
    private static readonly TimeSpan LeaderTimeout = TimeSpan.FromSeconds(30);
    public static Command Create()
    {
        var duration = CommandOptions.Positive("--duration", "SECONDS", "How long the concurrent-writer phase runs per cluster size.", 10);
        var writers = CommandOptions.Positive("--writers", "N", "Concurrent writers, each with one put in flight.", 64);
        var valueSize = CommandOptions.Positive("--value-size", "BYTES", "Size of each value (random bytes).", 100);
        var warmup = CommandOptions.Positive("--warmup", "SECONDS", "Warm-up with all writers before measuring (not reported).", 2);
        var sequential = CommandOptions.Positive("--sequential-duration", "SECONDS", "How long the single-writer phase runs.", 3);
        var nodes = CommandOptions.IntList("--nodes", "Cluster sizes to run, comma-separated (each 1, 3, 5 or 7).", "1,3",
            IsClusterSize, "cluster sizes, each 1, 3, 5 or 7");
        var dataDir = CommandOptions.DataDir();

        var command = new Command("metadata", "Put throughput and latency of the metadata service (fsync on), 1 node and 3 nodes on loopback.")
        {
            duration, writers, valueSize, nodes, dataDir, warmup, sequential,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new MetadataBenchOptions(
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                parseResult.GetValue(writers),
                parseResult.GetValue(valueSize),
                CommandOptions.ParseIntList(parseResult.GetValue(nodes), IsClusterSize)!,
                parseResult.GetValue(dataDir),
                TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
                TimeSpan.FromSeconds(parseResult.GetValue(sequential))),
            cancellationToken));
        return command;
    }

    private static bool IsClusterSize(int size) => size is 1 or 3 or 5 or 7;

    private static async Task<int> RunAsync(MetadataBenchOptions options, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var dataDir = directory.Path;
        var (machine, fileSystem, disk) = BenchProbe.Run(dataDir);

        var results = new List<PhaseResult>();
        foreach (var size in options.Nodes)
        {
            if (cancellationToken.IsCancellationRequested)
                break;
            results.AddRange(await RunClusterAsync(size, options, cancellationToken));
        }

        var report = new MetadataReport(options, machine, dataDir, fileSystem, disk, results);
        report.Write(Console.Out);
        return results.Any(r => r.ErrorCount > 0) ? 2 : 0;
    }

    private static async Task<IReadOnlyList<PhaseResult>> RunClusterAsync(int size, MetadataBenchOptions options, CancellationToken cancellationToken)
    {
        var setup = size == 1 ? "1 node" : $"{size} nodes (loopback)";
        Console.Error.WriteLine($"starting {setup}...");
        var cluster = new MetadataCluster(size);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, size).Select(cluster.StartNodeAsync));
            var leader = await cluster.WaitForLeaderAsync(LeaderTimeout);
            var pids = Enumerable.Range(0, size).Select(i => cluster.Node(i)!.Pid).ToArray();
            Console.Error.WriteLine($"{setup}: leader is node {leader + 1}; data root {cluster.DataRoot}");

            var workload = new PutWorkload(cluster.Client, options.ValueSize, pids);
            await workload.RunAsync(setup, "warm-up", options.Writers, options.Warmup, cancellationToken);
            var concurrent = await workload.RunAsync(setup, "measuring", options.Writers, options.Duration, cancellationToken);
            var single = await workload.RunAsync(setup, "measuring", 1, options.SequentialDuration, cancellationToken);
            foreach (var result in new[] { concurrent, single }.Where(r => r.ErrorCount > 0))
                Console.Error.WriteLine($"{setup}, {result.Writers} writers: {result.ErrorCount} errors, first: {result.FirstError}");
            return [concurrent, single];
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            Console.Error.WriteLine($"{setup} failed: {e.Message}\n{cluster.Logs()}");
            throw;
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
