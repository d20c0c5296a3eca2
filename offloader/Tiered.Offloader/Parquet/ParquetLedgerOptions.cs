namespace Tiered.Offloader.Parquet;

/// <summary>How the column pages of an offloaded ledger are compressed.</summary>
public enum ParquetCompression
{
    None,
    Snappy,
    Zstd,
    Gzip,
}

/// <summary>How <see cref="LedgerParquetWriter"/> lays a ledger out as Parquet.</summary>
public sealed record ParquetLedgerOptions
{
    /// <summary>The largest row group allowed by <see cref="Validate"/>: column buffers are indexed by int.</summary>
    public const long MaxAllowedRowGroupBytes = 1L << 30;

    /// <summary>
    /// A row group is cut at the first entry boundary after its entries add up to this many bytes. It bounds
    /// what a reader of one entry downloads (one row group) and what the writer buffers in memory.
    /// </summary>
    public long MaxRowGroupBytes { get; init; } = 8L << 20;

    public ParquetCompression Compression { get; init; } = ParquetCompression.Snappy;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value and what to use instead.</summary>
    public void Validate()
    {
        if (MaxRowGroupBytes < 1 || MaxRowGroupBytes > MaxAllowedRowGroupBytes)
            throw new ArgumentException(
                $"ParquetLedgerOptions.MaxRowGroupBytes is {MaxRowGroupBytes}: use 1 to {MaxAllowedRowGroupBytes} (1 GiB); 8 MiB suits ranged reads.",
                nameof(MaxRowGroupBytes));
        if (!Enum.IsDefined(Compression))
            throw new ArgumentException(
                $"ParquetLedgerOptions.Compression is {(int)Compression}: use None, Snappy, Zstd or Gzip.",
                nameof(Compression));
    }
}
