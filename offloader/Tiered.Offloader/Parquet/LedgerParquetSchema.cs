using global::Parquet;
using global::Parquet.Schema;

namespace Tiered.Offloader.Parquet;

/// <summary>
/// The columns of an offloaded ledger: one row per message, for query engines, plus the two rebuild
/// columns (<see cref="EntryFrame"/>, <see cref="PayloadOffset"/>) from which the reader restores every
/// entry byte for byte, and <see cref="EntryChecksum"/> (the XxHash64 of the entry as added, on its first
/// row), which the reader checks every rebuilt entry against. Columns are written in this order.
/// </summary>
/// <remarks>
/// An entry that is a <c>tiered.v1.MessageBatch</c> of format version 1 with messages has one row per
/// message: entry_frame (first row only) is the entry with each payload's bytes cut out, and payload_offset
/// is where the row's payload starts in the entry; the entry is its frame with the payloads spliced back at
/// their offsets, in row order — exact for any encoder (field order, unknown fields, repeated fields).
/// Any other entry is one row: batch_size 0, payload the whole entry, an empty frame, payload_offset 0,
/// null key, properties, producer_name, event_time and deliver_at, publish_time at the epoch. Times that a
/// timestamp cannot hold (outside years 1 to 9999) are clamped in the columns; the entry keeps them.
/// </remarks>
internal static class LedgerParquetSchema
{
    public static readonly DataField<long> LedgerId = new("ledger_id", false);
    public static readonly DataField<long> EntryId = new("entry_id", false);
    public static readonly DataField<int> BatchIndex = new("batch_index", false);
    public static readonly DataField<int> BatchSize = new("batch_size", false);
    public static readonly DateTimeDataField PublishTime = Timestamp("publish_time", nullable: false);
    public static readonly DateTimeDataField EventTime = Timestamp("event_time", nullable: true);
    public static readonly DataField<string> Key = new("key", true);
    public static readonly DataField<string> PropertyKey = new("key", false);
    public static readonly DataField<string> PropertyValue = new("value", false);
    public static readonly MapField Properties = new("properties", PropertyKey, PropertyValue);
    public static readonly DataField<string> ProducerName = new("producer_name", true);
    public static readonly DataField<long> SequenceId = new("sequence_id", false);
    public static readonly DataField<byte[]> Payload = new("payload", false);
    public static readonly DateTimeDataField DeliverAt = Timestamp("deliver_at", nullable: true);
    public static readonly DataField<byte[]> EntryFrame = new("entry_frame", true);
    public static readonly DataField<long> PayloadOffset = new("payload_offset", false);
    public static readonly DataField<long?> EntryChecksum = new("entry_xxhash64", true);

    public static readonly ParquetSchema Schema = new(
        LedgerId, EntryId, BatchIndex, BatchSize, PublishTime, EventTime, Key, Properties, ProducerName,
        SequenceId, Payload, DeliverAt, EntryFrame, PayloadOffset, EntryChecksum);

    /// <summary>Definition levels of the properties map's leaves (key and value are both required).</summary>
    public const int NullMap = 0;
    public const int EmptyMap = 1;
    public const int MapEntry = 2;

    /// <summary>File metadata naming the format, so a reader can tell an offloaded ledger from other Parquet.</summary>
    public const string FormatKey = "tiered.ledger.format";
    public const string FormatVersion = "1";
    public const string LedgerIdKey = "tiered.ledger.id";

    public static ParquetOptions Options(ParquetCompression compression) => new()
    {
        CompressionMethod = compression switch
        {
            ParquetCompression.None => CompressionMethod.None,
            ParquetCompression.Snappy => CompressionMethod.Snappy,
            ParquetCompression.Zstd => CompressionMethod.Zstd,
            ParquetCompression.Gzip => CompressionMethod.Gzip,
            _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "unknown compression"),
        },
        // Parquet.Net's default (SmallestSize) is Zstd level 19: far too slow for offloading.
        CompressionLevel = System.IO.Compression.CompressionLevel.Optimal,
        ColumnEncodingHints =
        {
            [ProducerName.Path.ToString()] = EncodingHint.Dictionary,
            [PropertyKey.Path.ToString()] = EncodingHint.Dictionary,
        },
        DictionaryEncodingSampleSize = 4096,
    };

    private static DateTimeDataField Timestamp(string name, bool nullable) =>
        new(name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Millis, isNullable: nullable);
}
