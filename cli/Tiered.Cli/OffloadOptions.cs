using System.CommandLine;
using Tiered.Broker;
using Tiered.Offloader;
using Tiered.Offloader.Stores;

namespace Tiered.Cli;

/// <summary>
/// The tiered-storage options of <c>tiered broker</c> and <c>tiered standalone</c>: the default
/// object store topics offload to (a namespace's offloadPolicies override it), the default
/// threshold and deletion lag, and ledger rollover. S3 credentials come from the AWS SDK's usual
/// chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance roles), never from flags.
/// </summary>
internal sealed class OffloadOptions
{
    private readonly Option<string?> _driver = new("--offload-driver")
    {
        HelpName = "filesystem|s3",
        Description = "The object store closed ledgers are offloaded to when a namespace names none.",
    };

    private readonly Option<string?> _directory = new("--offload-dir") { HelpName = "DIR", Description = "filesystem driver: the directory objects are written under." };
    private readonly Option<string?> _bucket = new("--offload-bucket") { HelpName = "BUCKET", Description = "s3 driver: the bucket (it must exist)." };
    private readonly Option<string?> _endpoint = new("--offload-endpoint") { HelpName = "URL", Description = "s3 driver: the endpoint of an S3-compatible service (default: AWS for the region)." };
    private readonly Option<string?> _region = new("--offload-region") { HelpName = "REGION", Description = "s3 driver: the region (default us-east-1)." };
    private readonly Option<string?> _prefix = new("--offload-prefix") { HelpName = "PREFIX", Description = "s3 driver: a key prefix inside the bucket." };
    private readonly Option<bool> _pathStyle = new("--offload-path-style") { Description = "s3 driver: path-style addressing (endpoint/bucket/key), which most S3-compatible servers need." };

    private readonly Option<bool> _chunkEncoding = new("--offload-chunk-encoding")
    {
        HelpName = "true|false",
        Description = "s3 driver: aws-chunked uploads; turn off for servers that do not decode them.",
        DefaultValueFactory = _ => true,
    };

    private readonly Option<long> _threshold = new("--offload-threshold")
    {
        HelpName = "BYTES",
        Description = "Bytes of a topic kept on the bookies before older ledgers are offloaded, when its namespace sets none: -1 off, 0 every closed ledger.",
        DefaultValueFactory = _ => -1,
    };

    private readonly Option<long> _deletionLag = new("--offload-deletion-lag-ms")
    {
        HelpName = "MS",
        Description = "How long the bookies keep an offloaded ledger, when its namespace sets no lag (default 4 hours).",
        DefaultValueFactory = _ => (long)TimeSpan.FromHours(4).TotalMilliseconds,
    };

    private readonly Option<long> _maxEntriesPerLedger = new("--max-entries-per-ledger")
    {
        HelpName = "N",
        Description = "Roll a topic over to a new ledger after this many entries (batches); only closed ledgers are offloaded.",
        DefaultValueFactory = _ => 50_000,
    };

    private readonly Option<int> _maintenanceSeconds = new("--maintenance-interval")
    {
        HelpName = "SECONDS",
        Description = "How often retention, message TTL, offload thresholds and deletion lags are applied.",
        DefaultValueFactory = _ => 30,
    };

    public IEnumerable<Option> All => [_driver, _directory, _bucket, _endpoint, _region, _prefix, _pathStyle, _chunkEncoding, _threshold, _deletionLag, _maxEntriesPerLedger, _maintenanceSeconds];

    /// <summary>
    /// <paramref name="options"/> with tiered storage on (spooling under <paramref name="spoolDirectory"/>),
    /// and the default store these options name (or <paramref name="defaultDirectory"/> on the filesystem when they name none and it is given).
    /// </summary>
    public BrokerOptions Apply(BrokerOptions options, ParseResult parseResult, string spoolDirectory, string? defaultDirectory)
    {
        var driver = parseResult.GetValue(_driver);
        var directory = parseResult.GetValue(_directory);
        ObjectStoreSettings? store = null;
        if (driver is not null || directory is not null || defaultDirectory is not null)
        {
            store = new ObjectStoreSettings
            {
                Driver = driver ?? ObjectStores.FileSystemDriver,
                Directory = directory ?? defaultDirectory,
                Bucket = parseResult.GetValue(_bucket),
                Endpoint = parseResult.GetValue(_endpoint),
                Region = parseResult.GetValue(_region),
                Prefix = parseResult.GetValue(_prefix),
                PathStyle = parseResult.GetValue(_pathStyle),
            };
        }
        return options with
        {
            TieredStorage = new TieredStorageOptions { SpoolDirectory = spoolDirectory, S3UseChunkEncoding = parseResult.GetValue(_chunkEncoding) },
            DefaultOffloadStore = store,
            DefaultOffloadThreshold = parseResult.GetValue(_threshold),
            DefaultOffloadDeletionLag = TimeSpan.FromMilliseconds(parseResult.GetValue(_deletionLag)),
            MaintenanceInterval = TimeSpan.FromSeconds(parseResult.GetValue(_maintenanceSeconds)),
            ManagedLedger = options.ManagedLedger with { MaxEntriesPerLedger = parseResult.GetValue(_maxEntriesPerLedger) },
        };
    }
}
