using System.CommandLine;
using System.Globalization;
using Tiered.ManagedLedgers;

namespace Tiered.Bench.Offload;

/// <summary>
/// <c>tiered-bench offload</c>: tiered storage (issue 6) on a real metadata service and bookie:
/// offload throughput of closed ledgers to Parquet on the filesystem store and on s3rver, the
/// objects' size against the ledgers', catch-up reads from the bookies and from the objects, and
/// the latency of reading one offloaded entry cold and cached.
/// </summary>
public static class OffloadCommand
{
    /// <summary>
    /// Entries read untimed from each store before the timed catch-ups: about 50 row groups, after
    /// which .NET has compiled the decoding loops at full optimization (a probe decoding the same
    /// row groups again and again ran at 560 MB/s on the first pass and 1,950 MB/s by the fifth).
    /// </summary>
    private const int WarmUpEntries = 5_000;

    public static Command Create()
    {
        var mb = CommandOptions.Positive("--mb", "MB", "Ledger data per store, in MB (10^6 bytes): about 100 KB entries of 100 messages × 1 KB.", 1000);
        var ledgerMB = CommandOptions.Positive("--ledger-mb", "MB", "Size of each ledger (the managed ledger rolls over by entry count at about this size).", 100);
        var payload = new Option<PayloadKind>("--payload")
        {
            HelpName = "random|text",
            Description = "Message payloads: random bytes (incompressible) or JSON-like text (compressible).",
            DefaultValueFactory = _ => PayloadKind.Random,
        };
        var stores = new Option<string>("--stores")
        {
            HelpName = "STORE,...",
            Description = "Object stores to offload to, comma-separated: fs (a directory in the data directory), s3 (s3rver on loopback).",
            DefaultValueFactory = _ => string.Join(',', OffloadBenchOptions.AllStores),
        };
        stores.Validators.Add(result =>
        {
            if (ParseStores(result.GetValueOrDefault<string>()) is null)
                result.AddError($"--stores must be a comma-separated list of {string.Join(", ", OffloadBenchOptions.AllStores)}.");
        });
        var readBatch = CommandOptions.Positive("--read-batch", "N", "Entries per ReadEntriesAsync call of the catch-up reader.", 100);
        var coldSamples = CommandOptions.Positive("--cold-samples", "N", "Cold single-entry reads per store (each with a new tiered storage: no footer or row group cached).", 20);
        var cachedSamples = CommandOptions.Positive("--cached-samples", "N", "Single-entry reads per store whose row group is cached.", 2000);
        var dataDir = CommandOptions.DataDir();

        var command = new Command("offload",
            "Tiered storage on a metadata node and one bookie (E=Qw=Qa=1) with the offloader in this process: offload MB/s of ledger data "
            + "to Parquet on the filesystem store and on s3rver, object size / ledger size, catch-up read MB/s from the bookies and "
            + "from the objects, and the latency of reading one offloaded entry, cold and cached.")
        {
            mb, ledgerMB, payload, stores, readBatch, coldSamples, cachedSamples, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new OffloadBenchOptions(
                parseResult.GetValue(mb),
                parseResult.GetValue(ledgerMB),
                parseResult.GetValue(payload),
                ParseStores(parseResult.GetValue(stores))!,
                parseResult.GetValue(readBatch),
                parseResult.GetValue(coldSamples),
                parseResult.GetValue(cachedSamples),
                parseResult.GetValue(dataDir)),
            cancellationToken));
        return command;
    }

    private static string[]? ParseStores(string? value)
    {
        var parts = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.Any(p => !OffloadBenchOptions.AllStores.Contains(p)))
            return null;
        return [.. OffloadBenchOptions.AllStores.Where(parts.Contains)];
    }

    private static async Task<int> RunAsync(OffloadBenchOptions options, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(options.DataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);

        await using var cluster = await OffloadCluster.StartAsync(directory.Path, options.Runs(OffloadBenchOptions.S3), cancellationToken);
        var workload = new OffloadWorkload(cluster, options, directory.Path);
        var results = new OffloadResults();
        try
        {
            foreach (var store in options.Stores)
                results.Fills.Add(Summarize(await workload.FillAsync(store, results, cancellationToken)));
            foreach (var store in options.Stores)
                results.Offloads.Add(Summarize(await workload.OffloadAsync(store, cancellationToken)));
            results.CatchUps.Add(Summarize(await workload.CatchUpAsync(options.Stores[0], "bookies", cancellationToken)));
            foreach (var store in options.Stores)
                Console.Error.WriteLine($"{store}: deleted {await workload.DeleteFromBookiesAsync(store, cancellationToken)} offloaded ledgers from the bookie");
            foreach (var store in options.Stores)
                await workload.WarmUpAsync(store, WarmUpEntries, cancellationToken);
            foreach (var store in options.Stores)
                results.CatchUps.Add(Summarize(await workload.CatchUpAsync(store, store, cancellationToken)));
            foreach (var store in options.Stores)
            {
                foreach (var latency in (await workload.LatencyAsync(store, OffloadWorkload.DefaultReadAhead, cancellationToken)).Concat(await workload.LatencyAsync(store, 0, cancellationToken)))
                {
                    results.Latencies.Add(latency);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {store} {latency.Kind}: p50 {latency.Percentile(50):F3} ms, p99 {latency.Percentile(99):F3} ms over {latency.SortedMs.Count} reads"));
                }
            }
            foreach (var result in await workload.ParquetCodecAsync(cancellationToken))
                results.Diagnostics.Add(Summarize(result));
            foreach (var store in options.Stores)
            {
                foreach (var result in await workload.StoreProbeAsync(store, cancellationToken))
                    results.Diagnostics.Add(Summarize(result));
            }
        }
        catch (Exception e) when (e is ManagedLedgerException or TimeoutException or InvalidOperationException)
        {
            Console.Error.WriteLine($"the benchmark failed: {e}");
            Console.Error.WriteLine(cluster.Logs());
            throw;
        }

        new OffloadReport(options, machine, directory.Path, fileSystem, disk, results).Write(Console.Out);
        return 0;
    }

    private static ThroughputResult Summarize(ThroughputResult result)
    {
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {result.Name}: {result.Bytes / 1e6:N0} MB in {result.Elapsed.TotalSeconds:F1} s = {result.MBPerSecond:N1} MB/s, this process {result.Cpu.BenchCores:F2} cores, ")
            + string.Join(", ", result.ServerNames.Select((name, i) => string.Create(CultureInfo.InvariantCulture, $"{name} {result.Cpu.ServerCores[i]:F2}")))
            + string.Create(CultureInfo.InvariantCulture, $" cores, machine {result.Cpu.MachineBusyPercent:F0} % busy")
            + (result.Gc is { } gc ? string.Create(CultureInfo.InvariantCulture, $", gen2 GCs {gc.Gen2}, GC paused {gc.Paused.TotalMilliseconds:N0} ms") : ""));
        return result;
    }
}
