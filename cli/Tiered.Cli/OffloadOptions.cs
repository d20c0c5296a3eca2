using System.CommandLine;

namespace Tiered.Cli;

/// <summary>
/// The tiered-storage flags of <c>tiered broker</c> and <c>tiered standalone</c>, bound to the
/// broker's settings: the default object store topics offload to (a namespace's offloadPolicies
/// override it), the default threshold and deletion lag, and ledger rollover. S3 credentials come
/// from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance
/// roles), never from flags.
/// </summary>
internal static class OffloadOptions
{
    private const string Store = "Broker:DefaultOffloadStore:";

    public static void AddTo(SettingFlags flags)
    {
        flags.Add(new Option<string?>("--offload-driver")
        {
            HelpName = "filesystem|s3",
            Description = "The object store closed ledgers are offloaded to when a namespace names none.",
        }, Store + "Driver");
        flags.Add(new Option<string?>("--offload-dir") { HelpName = "DIR", Description = "filesystem driver: the directory objects are written under." }, Store + "Directory");
        flags.Add(new Option<string?>("--offload-bucket") { HelpName = "BUCKET", Description = "s3 driver: the bucket (it must exist)." }, Store + "Bucket");
        flags.Add(new Option<string?>("--offload-endpoint") { HelpName = "URL", Description = "s3 driver: the endpoint of an S3-compatible service (default: AWS for the region)." }, Store + "Endpoint");
        flags.Add(new Option<string?>("--offload-region") { HelpName = "REGION", Description = "s3 driver: the region (default us-east-1)." }, Store + "Region");
        flags.Add(new Option<string?>("--offload-prefix") { HelpName = "PREFIX", Description = "s3 driver: a key prefix inside the bucket." }, Store + "Prefix");
        flags.Add(new Option<bool>("--offload-path-style") { Description = "s3 driver: path-style addressing (endpoint/bucket/key), which most S3-compatible servers need." }, Store + "PathStyle",
            on => on ? "true" : null);
        flags.Add(new Option<bool>("--offload-chunk-encoding")
        {
            HelpName = "true|false",
            Description = "s3 driver: aws-chunked uploads; turn off for servers that do not decode them.",
            DefaultValueFactory = _ => true,
        }, "Broker:TieredStorage:S3UseChunkEncoding");
        flags.Add(new Option<long>("--offload-threshold")
        {
            HelpName = "BYTES",
            Description = "Bytes of a topic kept on the bookies before older ledgers are offloaded, when its namespace sets none: -1 off, 0 every closed ledger.",
            DefaultValueFactory = _ => -1,
        }, "Broker:DefaultOffloadThreshold");
        flags.Add(new Option<long>("--offload-deletion-lag-ms")
        {
            HelpName = "MS",
            Description = "How long the bookies keep an offloaded ledger, when its namespace sets no lag (default 4 hours).",
            DefaultValueFactory = _ => (long)TimeSpan.FromHours(4).TotalMilliseconds,
        }, "Broker:DefaultOffloadDeletionLag", SettingFlags.Milliseconds);
        flags.Add(new Option<long>("--max-entries-per-ledger")
        {
            HelpName = "N",
            Description = "Roll a topic over to a new ledger after this many entries (batches); only closed ledgers are offloaded.",
            DefaultValueFactory = _ => 50_000,
        }, "Broker:ManagedLedger:MaxEntriesPerLedger");
        flags.Add(new Option<int>("--maintenance-interval")
        {
            HelpName = "SECONDS",
            Description = "How often retention, message TTL, offload thresholds and deletion lags are applied.",
            DefaultValueFactory = _ => 30,
        }, "Broker:MaintenanceInterval", SettingFlags.Seconds);
        flags.Add(new Option<int>("--backlog-quota-check-interval")
        {
            HelpName = "SECONDS",
            Description = "How often topics' backlogs are checked against their namespace's backlog quotas (a held producer resumes at a check).",
            DefaultValueFactory = _ => 1,
        }, "Broker:BacklogQuotaCheckInterval", SettingFlags.Seconds);
    }
}
