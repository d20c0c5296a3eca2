using static System.FormattableString;

namespace Tiered.Bench.Offload;

/// <summary>What the entries' message payloads look like.</summary>
public enum PayloadKind
{
    /// <summary>Random bytes: nothing for Parquet's compression to gain.</summary>
    Random,

    /// <summary>JSON-like text from a small vocabulary: compresses roughly as application events do.</summary>
    Text,
}

/// <summary>Settings of the tiered-storage benchmark, as given on the command line.</summary>
public sealed record OffloadBenchOptions(
    int MB,
    int LedgerMB,
    PayloadKind Payload,
    IReadOnlyList<string> Stores,
    int ReadBatch,
    int ColdSamples,
    int CachedSamples,
    string? DataDir)
{
    public const string FileSystem = "fs";
    public const string S3 = "s3";
    public static readonly string[] AllStores = [FileSystem, S3];

    /// <summary>Messages per entry (one MessageBatch per entry).</summary>
    public const int MessagesPerEntry = 100;

    /// <summary>Payload bytes per message.</summary>
    public const int PayloadBytes = 1024;

    /// <summary>The aim of issue 6 for offload throughput, MB/s of ledger bytes.</summary>
    public const double AimOffloadMBPerSecond = 100;

    /// <summary>The aim of issue 6: catch-up from offloaded data at least this share of catch-up from the bookies.</summary>
    public const double AimCatchUpShare = 0.5;

    public bool Runs(string store) => Stores.Contains(store);

    /// <summary>The command line that repeats this run.</summary>
    public string CommandLine =>
        Invariant($"offload --mb {MB} --ledger-mb {LedgerMB} --payload {Payload.ToString().ToLowerInvariant()} --stores {string.Join(',', Stores)}")
        + Invariant($" --read-batch {ReadBatch} --cold-samples {ColdSamples} --cached-samples {CachedSamples}")
        + (DataDir is null ? "" : $" --data-dir {DataDir}");
}
