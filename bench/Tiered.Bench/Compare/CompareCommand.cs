using System.CommandLine;
using System.Globalization;

namespace Tiered.Bench.Compare;

/// <summary>Settings of the comparison, as given on the command line.</summary>
public sealed record CompareOptions(
    TimeSpan Duration,
    TimeSpan Warmup,
    int FanOutMessages,
    int CatchUpMessages,
    IReadOnlyList<string> Systems,
    IReadOnlySet<int> Workloads,
    string NatsServer,
    string RabbitMqBin,
    string? DataDir)
{
    public const string Tiered = "tiered";
    public const string Nats = "nats";
    public const string RabbitMqQuorum = "rabbitmq-quorum";
    public const string RabbitMqStream = "rabbitmq-stream";
    public static readonly string[] AllSystems = [Tiered, Nats, RabbitMqQuorum, RabbitMqStream];

    public const int SmallMessage = 100;
    public const int LargeMessage = 1024;
    public const int Window = 1000;
    public const int SmallWindow = 64;
    public const int FanOutSubscriptions = 4;

    public string CommandLine => FormattableString.Invariant(
        $"compare --duration {Duration.TotalSeconds:0.###} --warmup {Warmup.TotalSeconds:0.###} --fanout-messages {FanOutMessages} --catchup-messages {CatchUpMessages}")
        + $" --systems {string.Join(',', Systems)} --workloads {string.Join(',', Workloads.Order())}"
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>
/// <c>tiered-bench compare</c>: Tiered standalone, NATS JetStream and RabbitMQ (quorum queue and stream queue), each
/// started in turn as child processes on 127.0.0.1 with data on the probed disk, driven through the same
/// <see cref="CompareWorkloads"/>, and stopped before the next starts; one table at the end.
/// </summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var duration = CommandOptions.Positive("--duration", "SECONDS", "How long each timed publish workload (1, 2, 3) runs per system.", 10);
        var warmup = new Option<int>("--warmup")
        {
            HelpName = "SECONDS",
            // 15 s: a .NET server compiles its hot methods again, optimised, during its first ~20 s under load
            // (dotnet-counters: ~2,000 methods and 2 s of JIT CPU in the first 5 s, ~100 by the fifth).
            Description = "Warm-up publishing (100 B, 1,000 in flight, not reported) after each system starts, long enough for the JIT to settle; 0 skips it.",
            DefaultValueFactory = _ => 15,
        };
        var fanOut = CommandOptions.Positive("--fanout-messages", "N", "Messages published in the fan-out workload (each delivered to 4 subscriptions).", 300_000);
        var catchUp = CommandOptions.Positive("--catchup-messages", "N", "Messages stored before the catch-up consumer starts.", 1_000_000);
        var systems = new Option<string>("--systems")
        {
            HelpName = "SYSTEM,...",
            Description = $"Systems to compare, from {string.Join(',', CompareOptions.AllSystems)}.",
            DefaultValueFactory = _ => string.Join(',', CompareOptions.AllSystems),
        };
        systems.Validators.Add(result =>
        {
            if (ParseSystems(result.GetValueOrDefault<string>()) is null)
                result.AddError($"--systems must be a comma-separated list of {string.Join(", ", CompareOptions.AllSystems)}.");
        });
        var workloads = CommandOptions.IntList("--workloads", "Workloads to run, from 1 to 5.", "1,2,3,4,5", n => n is >= 1 and <= 5, "workload numbers from 1 to 5");
        var natsServer = new Option<string>("--nats-server") { HelpName = "PATH", Description = "The nats-server program.", DefaultValueFactory = _ => "nats-server" };
        var rabbitMqBin = new Option<string>("--rabbitmq-bin")
        {
            HelpName = "DIR",
            Description = "Directory of rabbitmq-server (the programs that do not switch user).",
            DefaultValueFactory = _ => "/usr/lib/rabbitmq/bin",
        };
        var dataDir = CommandOptions.DataDir();
        var command = new Command("compare",
            "The same workloads against Tiered standalone, NATS JetStream and RabbitMQ (quorum and stream queue) on this machine: "
            + "1) 100 B, 1,000 in flight; 2) 100 B, 64 in flight; 3) 1 KB, best durable configuration; 4) fan-out to 4 subscriptions; "
            + "5) a new consumer catching up over a stored backlog.")
        {
            duration, warmup, fanOut, catchUp, systems, workloads, natsServer, rabbitMqBin, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new CompareOptions(
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                TimeSpan.FromSeconds(Math.Max(0, parseResult.GetValue(warmup))),
                parseResult.GetValue(fanOut),
                parseResult.GetValue(catchUp),
                ParseSystems(parseResult.GetValue(systems))!,
                CommandOptions.ParseIntList(parseResult.GetValue(workloads), n => n is >= 1 and <= 5)!.ToHashSet(),
                parseResult.GetValue(natsServer)!,
                parseResult.GetValue(rabbitMqBin)!,
                parseResult.GetValue(dataDir)),
            cancellationToken));
        return command;
    }

    private static List<string>? ParseSystems(string? value)
    {
        var parts = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length == 0 || parts.Any(p => !CompareOptions.AllSystems.Contains(p)) ? null : [.. parts.Distinct()];
    }

    private static IMessagingSystem CreateSystem(string name, CompareOptions options) => name switch
    {
        CompareOptions.Tiered => new TieredSystem(),
        CompareOptions.Nats => new NatsSystem(options.NatsServer),
        CompareOptions.RabbitMqQuorum => new RabbitMqSystem(RabbitMqQueueKind.Quorum, options.RabbitMqBin),
        _ => new RabbitMqSystem(RabbitMqQueueKind.Stream, options.RabbitMqBin),
    };

    private static async Task<int> RunAsync(CompareOptions options, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);

        var results = new List<SystemResults>();
        foreach (var name in options.Systems)
        {
            await using var system = CreateSystem(name, options);
            Console.Error.WriteLine($"starting {system.Name}...");
            await system.StartAsync(directory.Path, cancellationToken);
            Console.Error.WriteLine($"{system.Name} {system.Version} running (server PID {system.ServerPid})");
            try
            {
                results.Add(await RunWorkloadsAsync(system, options, cancellationToken));
            }
            finally
            {
                await system.StopAsync();
                Console.Error.WriteLine($"{system.Name} stopped");
            }
        }
        new CompareReport(options, machine, directory.Path, fileSystem, disk, results).Write(Console.Out);
        return results.Any(r => r.Errors > 0) ? 2 : 0;
    }

    private static async Task<SystemResults> RunWorkloadsAsync(IMessagingSystem system, CompareOptions options, CancellationToken cancellationToken)
    {
        var workloads = new CompareWorkloads(system, cancellationToken);
        var results = new SystemResults(system.Name, system.Version, system.Durability, system.BestConfiguration);
        void Report(string label, PublishResult r) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {label}: {r.MessagesPerSecond:N0} msg/s, {r.MBPerSecond:N1} MB/s, p50 {r.Ms(50):F2} ms p99 {r.Ms(99):F2} ms p99.9 {r.Ms(99.9):F2} ms, errors {r.Errors} {r.FirstError}"));
        void ReportDelivery(string label, DeliveryResult r) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {label}: delivered {r.Delivered:N0} of {r.Expected:N0} in {r.Elapsed.TotalSeconds:F1} s = {r.MessagesPerSecond:N0} msg/s"));

        if (options.Warmup > TimeSpan.Zero)
            Report("warm-up", await workloads.PublishForAsync("warmup", CompareOptions.SmallMessage, CompareOptions.Window, best: false, options.Warmup));
        if (options.Workloads.Contains(1))
            Report("1) 100 B, 1,000 in flight", results.Small = await workloads.PublishForAsync("w1", CompareOptions.SmallMessage, CompareOptions.Window, best: false, options.Duration));
        if (options.Workloads.Contains(2))
            Report("2) 100 B, 64 in flight", results.SmallWindow = await workloads.PublishForAsync("w2", CompareOptions.SmallMessage, CompareOptions.SmallWindow, best: false, options.Duration));
        if (options.Workloads.Contains(3))
            Report("3) 1 KB, best", results.Large = await workloads.PublishForAsync("w3", CompareOptions.LargeMessage, CompareOptions.Window, best: true, options.Duration));
        if (options.Workloads.Contains(4))
        {
            results.FanOut = await workloads.FanOutAsync(CompareOptions.FanOutSubscriptions, options.FanOutMessages, CompareOptions.LargeMessage,
                CompareOptions.Window, best: true, TimeSpan.FromSeconds(Math.Max(120, options.FanOutMessages / 2_000.0)));
            ReportDelivery("4) fan-out to 4", results.FanOut);
        }
        if (options.Workloads.Contains(5))
        {
            results.CatchUp = await workloads.CatchUpAsync(options.CatchUpMessages, CompareOptions.LargeMessage,
                CompareOptions.Window, best: true, TimeSpan.FromSeconds(Math.Max(120, options.CatchUpMessages / 5_000.0)));
            ReportDelivery("5) catch-up", results.CatchUp);
        }
        return results;
    }
}

/// <summary>What the workloads measured on one system; workloads not run stay null.</summary>
public sealed class SystemResults(string name, string version, string durability, string bestConfiguration)
{
    public string Name => name;
    public string Version => version;
    public string Durability => durability;
    public string BestConfiguration => bestConfiguration;
    public PublishResult? Small { get; set; }
    public PublishResult? SmallWindow { get; set; }
    public PublishResult? Large { get; set; }
    public DeliveryResult? FanOut { get; set; }
    public DeliveryResult? CatchUp { get; set; }

    public long Errors => (Small?.Errors ?? 0) + (SmallWindow?.Errors ?? 0) + (Large?.Errors ?? 0)
        + (FanOut?.Publish?.Errors ?? 0) + (CatchUp?.Publish?.Errors ?? 0)
        + (FanOut is { Complete: false } ? 1 : 0) + (CatchUp is { Complete: false } ? 1 : 0);
}
