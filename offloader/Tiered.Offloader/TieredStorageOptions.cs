using Tiered.Offloader.Parquet;

namespace Tiered.Offloader;

/// <summary>How a broker writes sealed ledgers to object stores and reads them back.</summary>
public sealed record TieredStorageOptions
{
    /// <summary>Where Parquet objects are assembled before they are uploaded (a local directory; its leftovers are removed at start).</summary>
    public string SpoolDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "tiered-offload-spool");

    /// <summary>A ledger larger than this becomes several objects (each holding whole entries).</summary>
    public long MaxObjectBytes { get; init; } = 1L << 30;

    public ParquetLedgerOptions Parquet { get; init; } = new();

    /// <summary>Ledgers of one managed ledger offloaded at the same time (one's upload overlaps the next one's encoding).</summary>
    public int ConcurrentLedgerOffloads { get; init; } = 2;

    /// <summary>Ledgers offloaded at the same time by the whole broker, whatever the number of topics (each holds a spool file and buffers, and takes CPU).</summary>
    public int MaxConcurrentOffloads { get; init; } = 4;

    /// <summary>Row groups read back from objects, kept in memory so neighbouring entries and re-reads need no GET.</summary>
    public long RowGroupCacheBytes { get; init; } = 64L << 20;

    /// <summary>Row groups fetched ahead of a sequential reader.</summary>
    public int ReadAheadRowGroups { get; init; } = 2;

    /// <summary>Credentials and upload setting for S3 stores (recorded store addresses carry none); null keys: the AWS SDK's default chain.</summary>
    public string? S3AccessKey { get; init; }

    public string? S3SecretKey { get; init; }

    /// <summary>aws-chunked uploads; some S3-compatible servers need this off.</summary>
    public bool S3UseChunkEncoding { get; init; } = true;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(SpoolDirectory))
            throw new ArgumentException("The offload spool directory must be set.");
        if (MaxObjectBytes < 1 << 20)
            throw new ArgumentException($"MaxObjectBytes must be at least 1 MiB (was {MaxObjectBytes}).");
        if (MaxConcurrentOffloads < 1)
            throw new ArgumentException($"MaxConcurrentOffloads must be at least 1 (was {MaxConcurrentOffloads}).");
        if (ConcurrentLedgerOffloads < 1)
            throw new ArgumentException($"ConcurrentLedgerOffloads must be at least 1 (was {ConcurrentLedgerOffloads}).");
        if (RowGroupCacheBytes < 0)
            throw new ArgumentException($"RowGroupCacheBytes must not be negative (was {RowGroupCacheBytes}).");
        if (ReadAheadRowGroups < 0)
            throw new ArgumentException($"ReadAheadRowGroups must not be negative (was {ReadAheadRowGroups}).");
        Parquet.Validate();
    }
}
