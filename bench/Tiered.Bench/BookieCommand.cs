using System.CommandLine;
using System.Globalization;
using Google.Protobuf;
using Grpc.Net.Client;
using Tiered.Ledger;
using Tiered.Testing;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Bench;

/// <summary>Settings of the bookie benchmark, as given on the command line.</summary>
public sealed record BookieBenchOptions(
    TimeSpan Duration,
    int InFlight,
    IReadOnlyList<int> Sizes,
    IReadOnlyList<int> Bookies,
    TimeSpan Warmup,
    string? DataDir)
{
    /// <summary>The entry size of the half-load phase and of the issue's aims.</summary>
    public const int AimEntrySize = 1024;

    /// <summary>The command line that repeats this run.</summary>
    public string CommandLine =>
        FormattableString.Invariant($"bookie --duration {Duration.TotalSeconds:0.###} --in-flight {InFlight} --sizes {string.Join(',', Sizes)} --bookies {string.Join(',', Bookies)}")
        + FormattableString.Invariant($" --warmup {Warmup.TotalSeconds:0.###}")
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}

/// <summary>
/// <c>tiered-bench bookie</c>: pipelined adds over raw gRPC to real <c>tiered bookie</c> processes
/// (journal fsync on), one bookie and an E=3, Qw=2, Qa=2 ensemble on loopback, next to the disk's
/// own fsync rate and sequential bandwidth.
/// </summary>
public static class BookieCommand
{
    private const int MaxMessageBytes = 8 * 1024 * 1024;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static long _nextLedgerId = 1;

    public static Command Create()
    {
        var duration = CommandOptions.Positive("--duration", "SECONDS", "How long each measured phase runs.", 10);
        var inFlight = CommandOptions.Positive("--in-flight", "N", "Entries the writer keeps outstanding (sent, not yet confirmed).", 1000);
        var sizes = CommandOptions.IntList("--sizes", "Entry sizes in bytes, comma-separated.", "100,1024",
            IsEntrySize, "entry sizes in bytes, each from 1 to 5242880");
        var bookies = CommandOptions.IntList("--bookies", "Ensembles to run, comma-separated: 1 (one bookie) or E ≥ 2 (E bookies, Qw=2, Qa=2).", "1,3",
            IsEnsembleSize, "ensemble sizes, each from 1 to 9");
        var warmup = CommandOptions.Positive("--warmup", "SECONDS", "Warm-up at full load before each measured full-load phase (not reported).", 3);
        var dataDir = CommandOptions.DataDir();

        var command = new Command("bookie",
            "Add throughput and latency of bookies (journal fsync on): one bookie and a 3-bookie ensemble (E=3, Qw=2, Qa=2) "
            + "on loopback, at full load and, for one bookie with 1 KB entries, at half load.")
        {
            duration, inFlight, sizes, bookies, warmup, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new BookieBenchOptions(
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                parseResult.GetValue(inFlight),
                CommandOptions.ParseIntList(parseResult.GetValue(sizes), IsEntrySize)!,
                CommandOptions.ParseIntList(parseResult.GetValue(bookies), IsEnsembleSize)!,
                TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
                parseResult.GetValue(dataDir)),
            cancellationToken));
        return command;
    }

    private static bool IsEntrySize(int size) => size is >= 1 and <= 5 * 1024 * 1024;

    private static bool IsEnsembleSize(int size) => size is >= 1 and <= 9;

    /// <summary>Striping for an ensemble of <paramref name="size"/>: every entry on 2 bookies, confirmed by both (1 for a single bookie).</summary>
    private static DistributionSchedule ScheduleFor(int size) => size == 1 ? new(1, 1, 1) : new(size, 2, 2);

    private static string SetupName(int size) => size == 1 ? "1 bookie" : $"{size} bookies (E={size}, Qw=2, Qa=2)";

    private static async Task<int> RunAsync(BookieBenchOptions options, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);

        Console.Error.WriteLine("starting a 1-node metadata service...");
        await using var metadata = await MetadataCluster.StartAsync(1);
        var metadataAddresses = string.Join(',', metadata.Addresses);
        var results = new List<AddPhaseResult>();
        foreach (var size in options.Bookies)
        {
            if (cancellationToken.IsCancellationRequested)
                break;
            results.AddRange(await RunEnsembleAsync(size, metadataAddresses, directory.Path, options, cancellationToken));
        }

        new BookieReport(options, machine, directory.Path, fileSystem, disk, results).Write(Console.Out);
        return results.Any(r => r.Errors > 0) ? 2 : 0;
    }

    private static async Task<IReadOnlyList<AddPhaseResult>> RunEnsembleAsync(
        int size, string metadataAddresses, string dataRoot, BookieBenchOptions options, CancellationToken cancellationToken)
    {
        var setup = SetupName(size);
        Console.Error.WriteLine($"starting {setup}...");
        var ports = Enumerable.Range(0, size).Select(_ => TieredProcess.FreePort()).ToArray();
        var processes = new TieredProcess?[size];
        var channels = new List<GrpcChannel>();
        try
        {
            await Task.WhenAll(Enumerable.Range(0, size).Select(async i =>
            {
                processes[i] = await TieredProcess.StartAsync("listening on", StartTimeout,
                    "bookie", "--metadata", metadataAddresses, "--listen", $"127.0.0.1:{ports[i]}",
                    "--data-dir", Path.Combine(dataRoot, $"bookies-{size}", $"b{i + 1}"), "--log-level", "Warning");
            }));
            var pids = processes.Select(p => p!.Pid).ToArray();
            var ensemble = ports.Select(port =>
            {
                var channel = Connect(port);
                channels.Add(channel);
                return new BookieRpc.BookieClient(channel);
            }).ToArray();

            var results = new List<AddPhaseResult>();
            foreach (var entrySize in options.Sizes)
            {
                var payload = RandomPayload(entrySize);
                await RunPhaseAsync(setup, size, ensemble, payload, options, "warm-up", options.Warmup, null, pids, cancellationToken);
                var full = await RunPhaseAsync(setup, size, ensemble, payload, options, "full", options.Duration, null, pids, cancellationToken);
                results.Add(full);
                if (size == 1 && entrySize == BookieBenchOptions.AimEntrySize)
                {
                    var half = full.EntriesPerSecond / 2;
                    results.Add(await RunPhaseAsync(setup, size, ensemble, payload, options, "half", options.Duration, half, pids, cancellationToken));
                }
            }
            foreach (var result in results.Where(r => r.Errors > 0))
                Console.Error.WriteLine($"{setup}, {result.EntrySize} B, {result.Load} load: {result.Errors} refused adds, first: {result.FirstError}");
            return results;
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or Grpc.Core.RpcException)
        {
            Console.Error.WriteLine($"{setup} failed: {e.Message}");
            for (var i = 0; i < size; i++)
                Console.Error.WriteLine($"--- bookie {i + 1} ---\n{processes[i]?.Output ?? "(not running)"}");
            throw;
        }
        finally
        {
            foreach (var channel in channels)
                channel.Dispose();
            foreach (var process in processes)
                process?.Dispose();
        }
    }

    private static async Task<AddPhaseResult> RunPhaseAsync(
        string setup, int size, BookieRpc.BookieClient[] ensemble, ByteString payload, BookieBenchOptions options,
        string load, TimeSpan duration, double? perSecond, int[] pids, CancellationToken cancellationToken)
    {
        var ledgerId = Interlocked.Increment(ref _nextLedgerId);
        using var driver = new LedgerAddDriver(ensemble, ScheduleFor(size), ledgerId, payload, options.InFlight);
        var label = string.Create(CultureInfo.InvariantCulture, $"{setup}, {payload.Length} B, {load}{(perSecond is { } r ? $" ({r:N0}/s)" : "")}");
        var cpu = CpuMeter.Start(pids);
        using var progressStop = new CancellationTokenSource();
        var progress = PhaseProgress.ReportAsync(label, duration, () => driver.Confirmed, "adds", progressStop.Token);
        try
        {
            var (entries, elapsed, latency, errors, firstError) = await driver.RunAsync(duration, perSecond, cancellationToken);
            var usage = cpu.Stop();
            return new AddPhaseResult(setup, size, load, payload.Length, options.InFlight, perSecond, entries, elapsed, latency, errors, firstError, usage);
        }
        finally
        {
            await progressStop.CancelAsync();
            await progress;
        }
    }

    private static GrpcChannel Connect(int port) => GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        },
        DisposeHttpClient = true,
        MaxReceiveMessageSize = MaxMessageBytes,
        MaxSendMessageSize = MaxMessageBytes,
    });

    private static ByteString RandomPayload(int size)
    {
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        return UnsafeByteOperations.UnsafeWrap(bytes);
    }
}
