using System.CommandLine;
using Tiered.Client;
using Tiered.Testing;

namespace Tiered.Bench;

/// <summary>Settings of the de-duplication benchmark, as given on the command line.</summary>
public sealed record DedupBenchOptions(
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
        FormattableString.Invariant($"dedup --duration {Duration.TotalSeconds:0.###} --warmup {Warmup.TotalSeconds:0.###} --rounds {Rounds} --producers {string.Join(',', Producers)}")
        + FormattableString.Invariant($" --phases {string.Join(',', AllPhases.Where(Runs))} --receiver-queue {ReceiverQueue}")
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>One measured publish phase of the de-duplication benchmark.</summary>
/// <param name="Round">1-based; round N is the Nth standalone with de-duplication off and the Nth with it on.</param>
/// <param name="Dedup">The standalone's <c>--deduplication-enabled</c>.</param>
public sealed record DedupMeasurement(string Phase, int Round, bool Dedup, PublishPhaseResult Result);

/// <summary>
/// <c>tiered-bench dedup</c>: the broker benchmark's publish phases (batched 1 KB and unbatched 100 B)
/// against <c>tiered standalone</c> with producer de-duplication off and on, alternating (off, on, off,
/// on, …), each time a new standalone process in a new data directory, so that a drift of the machine
/// during the run falls on both sides instead of on one. Each standalone is first checked to
/// de-duplicate exactly when it should, so a run cannot compare "on" with "on" by mistake.
/// </summary>
public static class DedupCommand
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
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
        var rounds = CommandOptions.Positive("--rounds", "N", "Rounds of a standalone with de-duplication off, then a new one with it on (2: off, on, off, on).", 2);
        var producers = CommandOptions.IntList("--producers", "Producer counts of the batched phase, comma-separated.", "1",
            n => n is >= 1 and <= 256, "producer counts, each from 1 to 256");
        var phases = new Option<string>("--phases")
        {
            HelpName = "PHASE,...",
            Description = $"Phases to run, comma-separated, from {string.Join(',', DedupBenchOptions.AllPhases)} (the broker benchmark's workloads).",
            DefaultValueFactory = _ => string.Join(',', DedupBenchOptions.AllPhases),
        };
        phases.Validators.Add(result =>
        {
            if (ParsePhases(result.GetValueOrDefault<string>()) is null)
                result.AddError($"--phases must be a comma-separated list of {string.Join(", ", DedupBenchOptions.AllPhases)}.");
        });
        var receiverQueue = CommandOptions.Positive("--receiver-queue", "N",
            "The consumers' ReceiverQueueSize: messages the broker may push ahead (default: the client's default).", new ConsumerOptions("t", "s").ReceiverQueueSize);
        var dataDir = CommandOptions.DataDir();

        var command = new Command("dedup",
            "Publish throughput and latency of `tiered standalone` with producer de-duplication off and on in one run (issue 14): "
            + "the broker benchmark's 1 KB batched and 100 B unbatched phases, alternating off, on, off, on, each on a new standalone "
            + "and data directory, with the on ÷ off ratio per phase and the disk's limits measured in the same run.")
        {
            duration, warmup, rounds, producers, phases, receiverQueue, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new DedupBenchOptions(
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
        if (parts.Length == 0 || parts.Any(p => !DedupBenchOptions.AllPhases.Contains(p)))
            return null;
        return [.. parts];
    }

    private static async Task<int> RunAsync(DedupBenchOptions options, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);

        var results = new List<DedupMeasurement>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var dedup in (bool[])[false, true])
                results.AddRange(await RunStandaloneAsync(options, round, dedup, cancellationToken));
        }

        new DedupReport(options, machine, directory.Path, fileSystem, disk, results).Write(Console.Out);
        return results.Sum(r => r.Result.Errors) > 0 ? 2 : 0;
    }

    /// <summary>A new standalone (and data directory, under the probed one) with de-duplication on or off, and every phase against it.</summary>
    private static async Task<List<DedupMeasurement>> RunStandaloneAsync(DedupBenchOptions options, int round, bool dedup, CancellationToken cancellationToken)
    {
        var name = $"round {round}, dedup {(dedup ? "on" : "off")}";
        using var standalone = new Standalone("--deduplication-enabled", dedup ? "true" : "false");
        Console.Error.WriteLine($"{name}: starting tiered standalone --deduplication-enabled {(dedup ? "true" : "false")} ({TieredProcess.CliPath}) in {standalone.DataDir}...");
        await standalone.StartAsync();
        var measured = new List<DedupMeasurement>();
        try
        {
            await using var client = new TieredClient(standalone.Url);
            await CheckDeduplicationAsync(client, dedup, cancellationToken);
            var runner = new PublishPhaseRunner(client, standalone.Process!.Pid, options.Warmup, options.ReceiverQueue);

            async Task MeasureAsync(string phase, PublishSetup setup, bool warmUp)
            {
                var result = await runner.MeasureAsync(phase, setup, options.Duration, warmUp, cancellationToken, $"{name}: {setup.Name}");
                measured.Add(new DedupMeasurement(phase, round, dedup, result));
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

    /// <summary>
    /// Proof that the standalone de-duplicates exactly when the report says so, through the client as a user
    /// would see it: a producer named N sends one message and closes, a second producer named N sends one more.
    /// With de-duplication on, the broker tells the second producer the highest sequence id it stored for N
    /// (ProducerOpened.last_sequence_id), so it continues after it (sequence ids 0, 1); with it off the broker
    /// keeps no table and the second producer starts again at 0.
    /// </summary>
    private static async Task CheckDeduplicationAsync(TieredClient client, bool dedup, CancellationToken cancellationToken)
    {
        const string topic = "persistent://public/default/bench-dedup-probe";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ProbeTimeout);
        await using var consumer = await client.SubscribeAsync(
            new ConsumerOptions(topic, "probe") { InitialPosition = SubscriptionInitialPosition.Earliest }, deadline.Token);
        for (var i = 0; i < 2; i++)
        {
            await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { ProducerName = "bench-dedup-probe" }, deadline.Token);
            await producer.SendAsync(new byte[] { (byte)i }, cancellationToken: deadline.Token);
        }
        ReceivedMessage second;
        try
        {
            await consumer.ReceiveAsync(deadline.Token);
            second = await consumer.ReceiveAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The probe's consumer of {topic} did not receive its 2 messages within {ProbeTimeout.TotalSeconds:F0} s.");
        }
        var expected = dedup ? 1UL : 0UL;
        if (second.SequenceId != expected)
        {
            throw new InvalidOperationException(
                $"A second producer with the same name on {topic} sent sequence id {second.SequenceId} where {expected} was expected with --deduplication-enabled {(dedup ? "true" : "false")}: "
                + "the run would not compare what it says. Check that `tiered standalone` takes the flag and that the broker answers ProducerOpened.last_sequence_id.");
        }
        Console.Error.WriteLine($"  checked: de-duplication is {(dedup ? "on" : "off")} (a second producer with the same name continued at sequence id {second.SequenceId})");
    }
}
