using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.ManagedLedgers;
using Tiered.Offloader;
using Tiered.Offloader.Stored;
using Tiered.Offloader.Stores;

namespace Tiered.Bench.Offload;

/// <summary>
/// The phases of the tiered-storage benchmark on one managed ledger per store: fill it, offload
/// its closed ledgers, read it back. Each phase opens its own managed ledger instance (as a new
/// owner would), so the entry cache and the row-group cache of one phase never serve another.
/// </summary>
public sealed partial class OffloadWorkload(OffloadCluster cluster, OffloadBenchOptions options, string dataRoot)
{
    /// <summary>Adds kept in flight while filling.</summary>
    private const int FillInFlight = 64;

    public static string LedgerName(string store) => $"public/default/persistent/offload-bench-{store}";

    public string StoreDirectory => Path.Combine(dataRoot, "offload-store");

    public StoreAddress AddressOf(string store) => TieredStorage.AddressOf(store == OffloadBenchOptions.FileSystem
        ? new ObjectStoreSettings { Driver = ObjectStores.FileSystemDriver, Directory = StoreDirectory }
        : new ObjectStoreSettings { Driver = "s3", Bucket = OffloadCluster.Bucket, Endpoint = cluster.S3!.Endpoint, PathStyle = true });

    /// <summary>The row groups a broker's tiered storage fetches ahead (its default).</summary>
    public static readonly int DefaultReadAhead = new TieredStorageOptions().ReadAheadRowGroups;

    /// <summary>A tiered storage as a broker would have it, with empty caches.</summary>
    public TieredStorage NewStorage() => NewStorage(DefaultReadAhead);

    private TieredStorage NewStorage(int readAheadRowGroups) => new(new TieredStorageOptions
    {
        ReadAheadRowGroups = readAheadRowGroups,
        SpoolDirectory = Path.Combine(dataRoot, "offload-spool"),
        S3AccessKey = Testing.S3Server.AccessKey,
        S3SecretKey = Testing.S3Server.SecretKey,
        S3UseChunkEncoding = false,
    }, NullLoggerFactory.Instance);

    private static ManagedLedgerOptions LedgerOptions(long entriesPerLedger, long entryCacheBytes) => new()
    {
        EnsembleSize = 1,
        WriteQuorum = 1,
        AckQuorum = 1,
        MaxEntriesPerLedger = entriesPerLedger,
        EntryCacheBytes = entryCacheBytes,
    };

    private Task<ManagedLedger> OpenAsync(string store, TieredStorage? storage, bool create, long entriesPerLedger = 50_000, long entryCacheBytes = 0)
        => ManagedLedger.OpenAsync(LedgerName(store), cluster.Ledgers, cluster.Metadata, LedgerOptions(entriesPerLedger, entryCacheBytes),
            NullLoggerFactory.Instance, createIfMissing: create, tieredStorage: storage);

    private CpuMeter StartCpu() => CpuMeter.Start([.. cluster.Servers.Select(s => s.Pid)]);

    private IReadOnlyList<string> ServerNames => [.. cluster.Servers.Select(s => s.Name)];

    /// <summary>
    /// Adds about <see cref="OffloadBenchOptions.MB"/> of entries to the store's managed ledger in
    /// ledgers of about <see cref="OffloadBenchOptions.LedgerMB"/>, then closes it so that every
    /// ledger holding data is closed (and can be offloaded).
    /// </summary>
    public async Task<ThroughputResult> FillAsync(string store, OffloadResults results, CancellationToken cancellationToken)
    {
        var entries = new BatchEntries(options.Payload);
        var first = entries.Next();
        var entryBytes = first.Length;
        var perLedger = Math.Max(1, (long)(options.LedgerMB * 1e6 / entryBytes));
        var total = Math.Max(1, (long)(options.MB * 1e6 / entryBytes));
        results.EntryBytes = entryBytes;
        results.EntriesPerLedger = perLedger;

        var ledger = await OpenAsync(store, storage: null, create: true, perLedger, entryCacheBytes: 0);
        var inFlight = new Queue<Task<Position>>(FillInFlight);
        long bytes = 0;
        var cpu = StartCpu();
        var gc = new GcMeter();
        var started = Stopwatch.GetTimestamp();
        await using (var progress = new ByteProgress($"fill {store}", total * entryBytes))
        {
            var next = first;
            for (long i = 0; i < total; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (inFlight.Count == FillInFlight)
                    await inFlight.Dequeue();
                inFlight.Enqueue(ledger.AddEntryAsync(next, cancellationToken).AsTask());
                bytes += next.Length;
                progress.Report(next.Length);
                next = entries.Next();
            }
            while (inFlight.Count > 0)
                await inFlight.Dequeue();
            await ledger.DisposeAsync();
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        var usage = cpu.Stop();
        var collections = gc.Stop();
        var reopened = await OpenAsync(store, storage: null, create: false);
        var ledgers = reopened.Ledgers.Count(l => !l.IsOpen);
        await reopened.DisposeAsync();
        return new ThroughputResult($"fill ({store})", store, ledgers, total, bytes, elapsed, usage, ServerNames, Gc: collections);
    }

    /// <summary>Offloads every closed ledger of the store's managed ledger to the store.</summary>
    public async Task<ThroughputResult> OffloadAsync(string store, CancellationToken cancellationToken)
    {
        using var storage = NewStorage();
        await using var ledger = await OpenAsync(store, storage, create: false);
        var closed = ledger.Ledgers.Where(l => !l.IsOpen && l.Entries > 0).ToList();
        var upTo = new Position(closed[^1].LedgerId, closed[^1].Entries - 1);
        var target = AddressOf(store);
        OffloadOutcome outcome;
        var cpu = StartCpu();
        var gc = new GcMeter();
        var started = Stopwatch.GetTimestamp();
        await using (var progress = new ByteProgress($"offload to {store}", closed.Sum(l => l.Size)))
            outcome = await ledger.OffloadAsync(upTo, target, progress, cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var usage = cpu.Stop();
        var collections = gc.Stop();
        var (objects, objectBytes) = await ObjectsAsync(storage, target, cancellationToken);
        return new ThroughputResult($"offload to {store}", store, outcome.LedgersOffloaded, closed.Sum(l => l.Entries), outcome.BytesOffloaded,
            elapsed, usage, ServerNames, objectBytes, objects, Gc: collections);
    }

    /// <summary>Deletes the bookie copies of the offloaded ledgers at once (no deletion lag): reads go to the objects from then on.</summary>
    public async Task<int> DeleteFromBookiesAsync(string store, CancellationToken cancellationToken)
    {
        using var storage = NewStorage();
        await using var ledger = await OpenAsync(store, storage, create: false);
        return await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.Zero, cancellationToken);
    }

    private static async Task<(int Count, long Bytes)> ObjectsAsync(TieredStorage storage, StoreAddress address, CancellationToken cancellationToken)
    {
        int count = 0;
        long bytes = 0;
        await foreach (var stored in storage.GetStore(address).ListAsync("", cancellationToken))
        {
            count++;
            bytes += stored.Size;
        }
        return (count, bytes);
    }
}
