using System.CommandLine;
using Tiered.Client;
using Tiered.Testing;

namespace Tiered.Bench;

/// <summary>Settings of an on/off benchmark (<see cref="Toggle"/>), as given on the command line.</summary>
public sealed record ToggleBenchOptions(
    Toggle Toggle,
    TimeSpan Duration,
    TimeSpan Warmup,
    int Rounds,
    IReadOnlyList<int> Producers,
    IReadOnlySet<string> Phases,
    int ReceiverQueue,
    string? DataDir)
{
    /// <summary>The broker benchmark's publish phases this one runs (the same workloads).</summary>
    public static readonly string[] AllPhases = [BrokerBenchOptions.Batched, BrokerBenchOptions.Unbatched];

    public bool Runs(string phase) => Phases.Contains(phase);

    /// <summary>The command line that repeats this run.</summary>
    public string CommandLine =>
        FormattableString.Invariant($"{Toggle.Command} --duration {Duration.TotalSeconds:0.###} --warmup {Warmup.TotalSeconds:0.###} --rounds {Rounds} --producers {string.Join(',', Producers)}")
        + FormattableString.Invariant($" --phases {string.Join(',', AllPhases.Where(Runs))} --receiver-queue {ReceiverQueue}")
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>One measured publish phase of an on/off benchmark.</summary>
/// <param name="Round">1-based; round N is the Nth standalone with the feature off and the Nth with it on.</param>
/// <param name="On">Whether the standalone ran with the feature on.</param>
public sealed record ToggleMeasurement(string Phase, int Round, bool On, PublishPhaseResult Result);

/// <summary>
/// A feature whose cost on the publish path is measured by running the broker benchmark's publish phases against
/// <c>tiered standalone</c> with it off and on (<see cref="ToggleCommand"/>): how to start the standalone and connect
/// to it either way, and the check, made on each standalone first, that it really runs as the report says.
/// </summary>
public abstract class Toggle : IDisposable
{
    /// <summary>The benchmark's command name.</summary>
    public abstract string Command { get; }

    /// <summary>The issue whose aim the report checks ("issue 14").</summary>
    public abstract string Issue { get; }

    /// <summary>The feature, as the report's column and labels name it ("dedup").</summary>
    public abstract string Feature { get; }

    /// <summary>The command's --help text.</summary>
    public abstract string Description { get; }

    /// <summary>How the report says what differs between off and on (the standalone's flags, the client's settings).</summary>
    public abstract string Setup { get; }

    /// <summary>The report's sentence on what <see cref="CheckAsync"/> proves.</summary>
    public abstract string CheckDescription { get; }

    /// <summary>Whether the aim (on within 10 % of off) applies to <paramref name="phase"/>.</summary>
    public virtual bool Aimed(string phase) => true;

    /// <summary>The standalone's flags with the feature off or on.</summary>
    public abstract string[] StandaloneArgs(bool on);

    /// <summary>The client of the benchmark for that standalone.</summary>
    public virtual TieredClientOptions ClientOptions(Standalone standalone, bool on) => new() { ServiceUrl = standalone.Url };

    /// <summary>Throws unless the standalone runs with the feature as <paramref name="on"/> says; prints what it checked.</summary>
    public abstract Task CheckAsync(TieredClient client, Standalone standalone, bool on, CancellationToken cancellationToken);

    public virtual void Dispose()
    {
    }
}

/// <summary>
/// <c>tiered-bench dedup</c>, <c>tiered-bench security</c>: the broker benchmark's publish phases (batched 1 KB and
/// unbatched 100 B) against <c>tiered standalone</c> with a feature off and on, alternating (off, on, off, on, …),
/// each time a new standalone process in a new data directory, so that a drift of the machine during the run falls on
/// both sides instead of on one. Each standalone is first checked to run as the report says, so a run cannot compare
/// "on" with "on" by mistake.
/// </summary>
public static class ToggleCommand
{
    public static Command Create(Func<Toggle> toggle)
    {
        var feature = toggle();
        var duration = CommandOptions.Positive("--duration", "SECONDS", "How long each measured publish phase runs.", 20);
        var warmup = new Option<int>("--warmup")
        {
            HelpName = "SECONDS",
            Description = "Warm-up (same workload, another topic, not reported) before each phase on every new standalone; 0 skips it.",
            DefaultValueFactory = _ => 5,
        };
        warmup.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
                result.AddError("--warmup must be 0 or more.");
        });
        var rounds = CommandOptions.Positive("--rounds", "N", $"Rounds of a standalone with {feature.Feature} off, then a new one with it on (2: off, on, off, on).", 2);
        var producers = CommandOptions.IntList("--producers", "Producer counts of the batched phase, comma-separated.", "1",
            n => n is >= 1 and <= 256, "producer counts, each from 1 to 256");
        var phases = new Option<string>("--phases")
        {
            HelpName = "PHASE,...",
            Description = $"Phases to run, comma-separated, from {string.Join(',', ToggleBenchOptions.AllPhases)} (the broker benchmark's workloads).",
            DefaultValueFactory = _ => string.Join(',', ToggleBenchOptions.AllPhases),
        };
        phases.Validators.Add(result =>
        {
            if (ParsePhases(result.GetValueOrDefault<string>()) is null)
                result.AddError($"--phases must be a comma-separated list of {string.Join(", ", ToggleBenchOptions.AllPhases)}.");
        });
        var receiverQueue = CommandOptions.Positive("--receiver-queue", "N",
            "The consumers' ReceiverQueueSize: messages the broker may push ahead (default: the client's default).", new ConsumerOptions("t", "s").ReceiverQueueSize);
        var dataDir = CommandOptions.DataDir();

        var command = new Command(feature.Command, feature.Description)
        {
            duration, warmup, rounds, producers, phases, receiverQueue, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new ToggleBenchOptions(
                toggle(),
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
                parseResult.GetValue(rounds),
                CommandOptions.ParseIntList(parseResult.GetValue(producers), n => n is >= 1 and <= 256)!,
                ParsePhases(parseResult.GetValue(phases))!,
                parseResult.GetValue(receiverQueue),
                parseResult.GetValue(dataDir)),
            cancellationToken));
        return command;
    }

    private static HashSet<string>? ParsePhases(string? value)
    {
        var parts = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.Any(p => !ToggleBenchOptions.AllPhases.Contains(p)))
            return null;
        return [.. parts];
    }

    private static async Task<int> RunAsync(ToggleBenchOptions options, CancellationToken cancellationToken)
    {
        using var toggle = options.Toggle;
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);

        var results = new List<ToggleMeasurement>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var on in (bool[])[false, true])
                results.AddRange(await RunStandaloneAsync(options, round, on, cancellationToken));
        }

        new ToggleReport(options, machine, directory.Path, fileSystem, disk, results).Write(Console.Out);
        return results.Sum(r => r.Result.Errors) > 0 ? 2 : 0;
    }

    /// <summary>A new standalone (and data directory, under the probed one) with the feature on or off, and every phase against it.</summary>
    private static async Task<List<ToggleMeasurement>> RunStandaloneAsync(ToggleBenchOptions options, int round, bool on, CancellationToken cancellationToken)
    {
        var toggle = options.Toggle;
        var name = $"round {round}, {toggle.Feature} {(on ? "on" : "off")}";
        var args = toggle.StandaloneArgs(on);
        using var standalone = new Standalone(args);
        Console.Error.WriteLine($"{name}: starting tiered standalone {string.Join(' ', args)} ({TieredProcess.CliPath}) in {standalone.DataDir}...");
        await standalone.StartAsync();
        var measured = new List<ToggleMeasurement>();
        try
        {
            await using var client = new TieredClient(toggle.ClientOptions(standalone, on));
            await toggle.CheckAsync(client, standalone, on, cancellationToken);
            var runner = new PublishPhaseRunner(client, standalone.Process!.Pid, options.Warmup, options.ReceiverQueue);

            async Task MeasureAsync(string phase, PublishSetup setup, bool warmUp)
            {
                var result = await runner.MeasureAsync(phase, setup, options.Duration, warmUp, cancellationToken, $"{name}: {setup.Name}");
                measured.Add(new ToggleMeasurement(phase, round, on, result));
            }

            if (options.Runs(BrokerBenchOptions.Batched))
            {
                var first = true;
                foreach (var producers in options.Producers)
                {
                    await MeasureAsync(BrokerBenchOptions.Batched, BrokerBenchOptions.BatchedSetup(producers), first);
                    first = false;
                }
            }
            if (options.Runs(BrokerBenchOptions.Unbatched))
                await MeasureAsync(BrokerBenchOptions.Unbatched, BrokerBenchOptions.UnbatchedSetup, warmUp: true);
        }
        catch (Exception e) when (e is TimeoutException or TieredClientException or InvalidOperationException)
        {
            Console.Error.WriteLine($"the benchmark failed ({name}): {e.Message}");
            Console.Error.WriteLine($"--- tiered standalone ---\n{standalone.Process?.Output ?? "(not running)"}");
            throw;
        }
        return measured;
    }
}
