using System.CommandLine;
using System.Globalization;
using Tiered.Client;
using Tiered.Testing;

namespace Tiered.Bench;

/// <summary>Settings of the broker benchmark, as given on the command line.</summary>
public sealed record BrokerBenchOptions(
    TimeSpan Duration,
    TimeSpan Warmup,
    IReadOnlyList<int> Producers,
    int BacklogMB,
    IReadOnlySet<string> Phases,
    int ReceiverQueue,
    TimeSpan Idle,
    string? DataDir,
    int PacedPercent = 50)
{
    public const string Batched = "batched";
    public const string Unbatched = "unbatched";
    public const string Paced = "paced";
    public const string Backlog = "backlog";
    public const string Memory = "memory";
    public static readonly string[] AllPhases = [Batched, Unbatched, Paced, Backlog, Memory];

    /// <summary>Message size of the batched, paced and backlog phases.</summary>
    public const int LargeMessage = 1024;

    /// <summary>Message size of the unbatched phase.</summary>
    public const int SmallMessage = 100;

    /// <summary>Messages each producer keeps in flight (the client's default MaxPendingMessages).</summary>
    public const int InFlight = 1000;

    /// <summary>Producers that publish the backlog.</summary>
    public const int BacklogProducers = 4;

    /// <summary>The batched phase's workload: 1 KB messages, client batching, <paramref name="producers"/> unpaced producers.</summary>
    public static PublishSetup BatchedSetup(int producers) => new(producers, LargeMessage, Batching: true, InFlight, null);

    /// <summary>The unbatched phase's workload: one producer of 100-byte messages, each its own entry.</summary>
    public static readonly PublishSetup UnbatchedSetup = new(1, SmallMessage, Batching: false, InFlight, null);

    public bool Runs(string phase) => Phases.Contains(phase);

    /// <summary>The command line that repeats this run.</summary>
    public string CommandLine =>
        FormattableString.Invariant($"broker --duration {Duration.TotalSeconds:0.###} --warmup {Warmup.TotalSeconds:0.###} --producers {string.Join(',', Producers)}")
        + FormattableString.Invariant($" --backlog-mb {BacklogMB} --phases {string.Join(',', AllPhases.Where(Runs))} --receiver-queue {ReceiverQueue} --idle {Idle.TotalSeconds:0.###}")
        + (PacedPercent == 50 ? "" : FormattableString.Invariant($" --paced-percent {PacedPercent}"))
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>
/// <c>tiered-bench broker</c>: the .NET client against a real <c>tiered standalone</c> child process
/// (metadata, one bookie and the broker in one process; every entry fsynced before it is acknowledged)
/// on loopback, next to the disk's own fsync rate and sequential bandwidth: batched publishing with
/// 1, 4 and 16 producers, unbatched 100-byte messages, paced publishing at half the 1-producer rate,
/// a consumer catching up over a backlog, and the standalone's resident memory.
/// </summary>
public static class BrokerCommand
{
    public static Command Create()
    {
        var duration = CommandOptions.Positive("--duration", "SECONDS", "How long each measured publish phase runs.", 20);
        var warmup = new Option<int>("--warmup")
        {
            HelpName = "SECONDS",
            Description = "Warm-up (same workload, another topic, not reported) before the first batched and the unbatched phase; 0 skips it.",
            DefaultValueFactory = _ => 5,
        };
        warmup.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
                result.AddError("--warmup must be 0 or more.");
        });
        var producers = CommandOptions.IntList("--producers", "Producer counts of the batched phase, comma-separated.", "1,4,16",
            n => n is >= 1 and <= 256, "producer counts, each from 1 to 256");
        var backlogMB = CommandOptions.Positive("--backlog-mb", "MB", "Size of the backlog the consumer catches up over, in MB (10^6 bytes) of 1 KB payloads.", 1000);
        var phases = new Option<string>("--phases")
        {
            HelpName = "PHASE,...",
            Description = $"Phases to run, comma-separated, from {string.Join(',', BrokerBenchOptions.AllPhases)}. "
                + "'paced' needs the 1-producer batched rate and measures it first when 'batched' is not run.",
            DefaultValueFactory = _ => string.Join(',', BrokerBenchOptions.AllPhases),
        };
        phases.Validators.Add(result =>
        {
            if (ParsePhases(result.GetValueOrDefault<string>()) is null)
                result.AddError($"--phases must be a comma-separated list of {string.Join(", ", BrokerBenchOptions.AllPhases)}.");
        });
        var receiverQueue = CommandOptions.Positive("--receiver-queue", "N",
            "The consumers' ReceiverQueueSize: messages the broker may push ahead (default: the client's default).", new ConsumerOptions("t", "s").ReceiverQueueSize);
        var idle = CommandOptions.Positive("--idle", "SECONDS", "How long the standalone stays idle before its resident memory is read (after start and after the benchmark).", 5);
        var dataDir = CommandOptions.DataDir();
        var pacedPercent = CommandOptions.Positive("--paced-percent", "PERCENT",
            "Rate of the paced phase, in percent of the unpaced 1-producer batched rate (1 to 100).", 50);
        pacedPercent.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() > 100)
                result.AddError("--paced-percent must be from 1 to 100.");
        });

        var command = new Command("broker",
            "Publish and consume throughput and latency of `tiered standalone` (fsync before every acknowledgement) through the .NET client: "
            + "1 KB batched with several producers, 100 B unbatched with 1,000 in flight, 1 KB paced at half the 1-producer rate, "
            + "a consumer catching up over a backlog, and the standalone's resident memory idle and after the load.")
        {
            duration, warmup, producers, backlogMB, phases, receiverQueue, idle, dataDir, pacedPercent,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new BrokerBenchOptions(
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
                CommandOptions.ParseIntList(parseResult.GetValue(producers), n => n is >= 1 and <= 256)!,
                parseResult.GetValue(backlogMB),
                ParsePhases(parseResult.GetValue(phases))!,
                parseResult.GetValue(receiverQueue),
                TimeSpan.FromSeconds(parseResult.GetValue(idle)),
                parseResult.GetValue(dataDir),
                parseResult.GetValue(pacedPercent)),
            cancellationToken));
        return command;
    }

    private static HashSet<string>? ParsePhases(string? value)
    {
        var parts = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.Any(p => !BrokerBenchOptions.AllPhases.Contains(p)))
            return null;
        return [.. parts];
    }

    private static async Task<int> RunAsync(BrokerBenchOptions options, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);

        // Standalone makes its data directory under TMPDIR, which BenchDirectory points at the probed directory.
        using var standalone = new Standalone();
        Console.Error.WriteLine($"starting tiered standalone ({TieredProcess.CliPath}) in {standalone.DataDir}...");
        await standalone.StartAsync();
        var pid = standalone.Process!.Pid;
        var results = new BrokerResults();
        try
        {
            if (options.Runs(BrokerBenchOptions.Memory))
                results.IdleMemory = await IdleMemoryAsync(pid, options.Idle, "after start", cancellationToken);
            await using (var client = new TieredClient(standalone.Url))
                await RunPhasesAsync(client, pid, options, results, cancellationToken);
            if (options.Runs(BrokerBenchOptions.Memory))
                results.AfterMemory = await IdleMemoryAsync(pid, options.Idle, "after the benchmark", cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or TieredClientException)
        {
            Console.Error.WriteLine($"the benchmark failed: {e.Message}");
            Console.Error.WriteLine($"--- tiered standalone ---\n{standalone.Process?.Output ?? "(not running)"}");
            throw;
        }

        new BrokerReport(options, machine, directory.Path, fileSystem, disk, results).Write(Console.Out);
        return results.ErrorCount > 0 ? 2 : 0;
    }

    private static async Task<ProcessMemory> IdleMemoryAsync(int pid, TimeSpan idle, string when, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine($"standalone idle for {idle.TotalSeconds:F0} s {when}...");
        await Task.Delay(idle, cancellationToken);
        var memory = ProcessMemory.Of(pid);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"standalone memory {when}: VmRSS {memory.ResidentMB:F0} MB ({memory.AnonymousMB:F0} MB anonymous, {memory.FileMB:F0} MB mapped files), peak (VmHWM) {memory.PeakResidentMB:F0} MB"));
        return memory;
    }

    private static async Task RunPhasesAsync(TieredClient client, int pid, BrokerBenchOptions options, BrokerResults results, CancellationToken cancellationToken)
    {
        var runner = new PublishPhaseRunner(client, pid, options.Warmup, options.ReceiverQueue);
        Task<PublishPhaseResult> MeasureAsync(string phase, PublishSetup setup, TimeSpan duration, bool warmUp) =>
            runner.MeasureAsync(phase, setup, duration, warmUp, cancellationToken);

        var batched = BrokerBenchOptions.BatchedSetup;
        if (options.Runs(BrokerBenchOptions.Batched))
        {
            var first = true;
            foreach (var producers in options.Producers)
            {
                results.Publish.Add(await MeasureAsync(BrokerBenchOptions.Batched, batched(producers), options.Duration, first));
                first = false;
            }
        }
        if (options.Runs(BrokerBenchOptions.Unbatched))
            results.Publish.Add(await MeasureAsync(BrokerBenchOptions.Unbatched, BrokerBenchOptions.UnbatchedSetup, options.Duration, warmUp: true));
        if (options.Runs(BrokerBenchOptions.Paced))
        {
            var reference = results.SingleProducerBatched;
            if (reference is null)
            {
                reference = await MeasureAsync(BrokerBenchOptions.Batched, batched(1), options.Duration, warmUp: true);
                results.Publish.Add(reference);
            }
            var rate = Math.Max(1, Math.Round(reference.MessagesPerSecond * options.PacedPercent / 100));
            results.Publish.Add(await MeasureAsync(BrokerBenchOptions.Paced, batched(1) with { RatePerSecond = rate }, options.Duration, warmUp: false));
        }
        if (options.Runs(BrokerBenchOptions.Backlog))
        {
            var messages = (long)Math.Ceiling(options.BacklogMB * 1e6 / BrokerBenchOptions.LargeMessage);
            var workload = new BacklogWorkload(client, runner.NextTopic(BrokerBenchOptions.Backlog), BrokerBenchOptions.LargeMessage,
                BrokerBenchOptions.BacklogProducers, BrokerBenchOptions.InFlight, options.ReceiverQueue);
            var consumeTimeout = TimeSpan.FromSeconds(Math.Max(120, messages / 5_000.0));
            results.Backlog = await workload.RunAsync(messages, pid, consumeTimeout, cancellationToken);
            var b = results.Backlog;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  backlog: published {b.Messages:N0} in {b.FillElapsed.TotalSeconds:F1} s ({b.FillMessagesPerSecond:N0} msg/s), consumed in {b.ConsumeElapsed.TotalSeconds:F1} s ({b.ConsumeMessagesPerSecond:N0} msg/s)"));
        }
    }
}

/// <summary>What one run of the broker benchmark measured; phases that did not run stay empty.</summary>
public sealed class BrokerResults
{
    public List<PublishPhaseResult> Publish { get; } = [];

    public BacklogResult? Backlog { get; set; }

    public ProcessMemory? IdleMemory { get; set; }

    public ProcessMemory? AfterMemory { get; set; }

    /// <summary>The unpaced 1-producer batched 1 KB phase: the reference of the paced phase.</summary>
    public PublishPhaseResult? SingleProducerBatched => Publish.FirstOrDefault(r =>
        r.Setup is { Producers: 1, Batching: true, RatePerSecond: null, MessageSize: BrokerBenchOptions.LargeMessage });

    public long ErrorCount => Publish.Sum(r => r.Errors) + (Backlog?.Errors ?? 0);
}
