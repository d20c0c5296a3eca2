using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tiered.Offloader.Stored;
using Tiered.Offloader.Stores;

namespace Tiered.Offloader;

/// <summary>
/// A broker's tiered storage: writes sealed ledgers to object stores as Parquet objects and reads
/// their entries back. Stateless about ledgers: what was offloaded where is the
/// <see cref="OffloadedLedger"/> record the caller keeps (the managed ledger's ledger list).
/// </summary>
public sealed partial class TieredStorage : IDisposable
{
    private readonly ConcurrentDictionary<StoreAddress, IObjectStore> _stores = new();
    private readonly RowGroupCache _cache;
    private readonly ILogger _logger;
    private readonly Func<StoreAddress, IObjectStore>? _storeFactory;
    private readonly SemaphoreSlim _offloadSlots;
    private readonly bool _ownsInstrumentation;

    /// <param name="instrumentation">Where offloads and reads of objects are counted; null: an instance of its own.</param>
    public TieredStorage(TieredStorageOptions options, ILoggerFactory loggerFactory, Instrumentation? instrumentation = null)
        : this(options, loggerFactory, storeFactory: null, instrumentation)
    {
    }

    /// <param name="storeFactory">Test seam: builds the store of an address instead of <see cref="ObjectStores.Create"/>.</param>
    internal TieredStorage(TieredStorageOptions options, ILoggerFactory loggerFactory, Func<StoreAddress, IObjectStore>? storeFactory,
        Instrumentation? instrumentation = null)
    {
        options.Validate();
        _ownsInstrumentation = instrumentation is null;
        Instrumentation = instrumentation ?? new Instrumentation(meterFactory: null);
        _storeFactory = storeFactory;
        _offloadSlots = new SemaphoreSlim(options.MaxConcurrentOffloads, options.MaxConcurrentOffloads);
        Options = options;
        _logger = loggerFactory.CreateLogger<TieredStorage>();
        _cache = new RowGroupCache(options.RowGroupCacheBytes);
        RemoveSpoolLeftovers();
    }

    public TieredStorageOptions Options { get; }

    public Instrumentation Instrumentation { get; }

    /// <summary>The address recorded for objects written with <paramref name="settings"/> (everything but credentials).</summary>
    public static StoreAddress AddressOf(ObjectStoreSettings settings) => new()
    {
        Driver = ObjectStores.NormalizeDriver(settings.Driver),
        Directory = settings.Directory is null ? "" : Path.GetFullPath(settings.Directory),
        Bucket = settings.Bucket ?? "",
        Endpoint = settings.Endpoint ?? "",
        Region = settings.Region ?? "",
        PathStyle = settings.PathStyle,
        Prefix = settings.Prefix ?? "",
    };

    /// <summary>The store at <paramref name="address"/> with this broker's credentials, created once and shared.</summary>
    public IObjectStore GetStore(StoreAddress address) => _stores.GetOrAdd(address, a =>
    {
        var store = _storeFactory?.Invoke(a) ?? ObjectStores.Create(SettingsOf(a));
        if (store is FileSystemObjectStore files)
        {
            // Puts that a crash of this or an earlier broker cut off leave temporary files; none is an hour old while running.
            _ = Task.Run(() =>
            {
                if (files.DeleteAbandonedWrites(TimeSpan.FromHours(1)) is > 0 and var count)
                    OffloaderLog.AbandonedWritesDeleted(_logger, count, files.Location);
            });
        }
        return store;
    });

    private ObjectStoreSettings SettingsOf(StoreAddress a) => new()
    {
        Driver = a.Driver,
        Directory = a.Directory.Length == 0 ? null : a.Directory,
        Bucket = a.Bucket.Length == 0 ? null : a.Bucket,
        Endpoint = a.Endpoint.Length == 0 ? null : a.Endpoint,
        Region = a.Region.Length == 0 ? null : a.Region,
        PathStyle = a.PathStyle,
        Prefix = a.Prefix.Length == 0 ? null : a.Prefix,
        AccessKey = Options.S3AccessKey,
        SecretKey = Options.S3SecretKey,
        UseChunkEncoding = Options.S3UseChunkEncoding,
    };

    /// <summary>Where a store address points, for messages and stats: "file:///dir" or "s3://bucket/prefix at endpoint".</summary>
    public static string Describe(StoreAddress address) => address.Driver == ObjectStores.FileSystemDriver
        ? new Uri(Path.GetFullPath(address.Directory)).AbsoluteUri
        : $"s3://{address.Bucket}/{address.Prefix} at {(address.Endpoint.Length == 0 ? "AWS " + address.Region : address.Endpoint)}";

    /// <summary>
    /// Deletes every object of <paramref name="ledgerId"/> in the store except those of the run
    /// <paramref name="keepRunId"/>: what runs that did not complete (crashed, failed) left.
    /// </summary>
    public async Task<int> DeleteLeftoversAsync(StoreAddress address, string managedLedger, long ledgerId, string? keepRunId, CancellationToken cancellationToken = default)
    {
        var store = GetStore(address);
        var keep = keepRunId is null ? null : ObjectKeys.RunPrefix(managedLedger, ledgerId, keepRunId);
        var deleted = 0;
        await foreach (var stored in store.ListAsync(ObjectKeys.LedgerPrefix(managedLedger, ledgerId), cancellationToken).ConfigureAwait(false))
        {
            if (keep is not null && stored.Key.StartsWith(keep, StringComparison.Ordinal))
                continue;
            await store.DeleteAsync(stored.Key, cancellationToken).ConfigureAwait(false);
            deleted++;
        }
        if (deleted > 0)
            OffloaderLog.LeftoversDeleted(_logger, managedLedger, ledgerId, deleted, store.Location);
        return deleted;
    }

    /// <summary>Deletes the objects of an offloaded ledger (when the ledger itself is deleted), and any leftovers of other runs.</summary>
    public async Task DeleteAsync(OffloadedLedger ledger, string managedLedger, long ledgerId, CancellationToken cancellationToken = default)
    {
        var store = GetStore(ledger.Store);
        foreach (var stored in ledger.Objects)
        {
            _cache.Forget(stored.Key);
            await store.DeleteAsync(stored.Key, cancellationToken).ConfigureAwait(false);
        }
        await DeleteLeftoversAsync(ledger.Store, managedLedger, ledgerId, keepRunId: null, cancellationToken).ConfigureAwait(false);
    }

    private void RemoveSpoolLeftovers()
    {
        if (!Directory.Exists(Options.SpoolDirectory))
            return;
        foreach (var file in Directory.EnumerateFiles(Options.SpoolDirectory, "*" + SpoolSuffix))
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
        }
    }

    public void Dispose()
    {
        _offloadSlots.Dispose();
        if (_ownsInstrumentation)
            Instrumentation.Dispose();
        foreach (var store in _stores.Values)
            store.Dispose();
        _stores.Clear();
    }
}
