using System.Globalization;
using System.Text.Json;
using Tiered.Offloader.Parquet;
using Tiered.Testing;

namespace Tiered.Offloader.Tests.Parquet;

/// <summary>
/// DuckDB, a reader independent of Parquet.Net, queries an offloaded ledger through
/// tests/node/read-parquet.js: the object must be ordinary Parquet that query engines understand.
/// </summary>
public sealed class DuckDbReadTests : IDisposable
{
    private const long P = LedgerFixtures.PublishTimeMs;
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task DuckDB_reads_one_row_per_message_with_the_columns_and_values_written()
    {
        (long, byte[])[] entries = [(0, LedgerFixtures.Batch(0, 5)), (1, LedgerFixtures.Raw(1, 10)), (2, LedgerFixtures.UnusualBatch(2)), (3, [])];
        var path = _directory.File("ledger.parquet");
        await LedgerFixtures.WriteAsync(path, 42, entries, new ParquetLedgerOptions());

        using var result = await ReadWithDuckDbAsync(path);
        var root = result.RootElement;

        Assert.Equal(9, Long(root.GetProperty("rows")));
        var columns = root.GetProperty("columns").EnumerateArray()
            .Select(c => (c.GetProperty("name").GetString(), c.GetProperty("type").GetString())).ToArray();
        Assert.Equal(
            [("ledger_id", "BIGINT"), ("entry_id", "BIGINT"), ("batch_index", "INTEGER"), ("batch_size", "INTEGER"),
             ("publish_time", "TIMESTAMP WITH TIME ZONE"), ("event_time", "TIMESTAMP WITH TIME ZONE"), ("key", "VARCHAR"),
             ("properties", "MAP(VARCHAR, VARCHAR)"), ("producer_name", "VARCHAR"), ("sequence_id", "BIGINT"), ("payload", "BLOB"),
             ("deliver_at", "TIMESTAMP WITH TIME ZONE"), ("entry_frame", "BLOB"), ("payload_offset", "BIGINT"), ("entry_xxhash64", "BIGINT")],
            columns);

        var rows = root.GetProperty("sample").EnumerateArray().ToArray();
        Assert.Equal(9, rows.Length);
        foreach (var row in rows)
            Assert.Equal(42, Long(row.GetProperty("ledger_id")));

        // Entry 0: five messages encoded by the generated code.
        for (var i = 0; i < 5; i++)
        {
            var row = rows[i];
            Assert.Equal((0L, i, 5), (Long(row.GetProperty("entry_id")), (int)Long(row.GetProperty("batch_index")), (int)Long(row.GetProperty("batch_size"))));
            Assert.Equal(i % 3 == 0 ? null : $"key-0-{i}", Text(row.GetProperty("key")));
            Assert.Equal("producer-a", Text(row.GetProperty("producer_name")));
            Assert.Equal(P, Long(row.GetProperty("publish_time_ms")));
            Assert.Equal(i % 2 == 0, row.GetProperty("event_time_null").GetBoolean());
            if (i % 2 == 1)
                Assert.Equal(P - i, Long(row.GetProperty("event_time_ms")));
            Assert.Equal(i == 1 ? P + 60_000 : null, NullableLong(row.GetProperty("deliver_at_ms")));
            Assert.Equal(i, Long(row.GetProperty("sequence_id")));
            Assert.Equal(i % 4 == 0 ? 0 : 2, Long(row.GetProperty("property_count")));
            Assert.Equal(i % 4 == 0 ? null : i % 2 == 0 ? "red" : "blue", Text(row.GetProperty("color")));
            var payload = LedgerFixtures.Payload(0, i, i == 4 ? 0 : 100);
            Assert.Equal(payload.Length, Long(row.GetProperty("payload_length")));
            if (payload.Length <= 64)
                Assert.Equal(Convert.ToHexString(payload), Text(row.GetProperty("payload_hex")));
            Assert.Equal(i != 0, row.GetProperty("frame_null").GetBoolean());
        }

        // Entry 1: raw bytes, one row holding the whole entry.
        var raw = rows[5];
        Assert.Equal((1L, 0L, 0L), (Long(raw.GetProperty("entry_id")), Long(raw.GetProperty("batch_index")), Long(raw.GetProperty("batch_size"))));
        Assert.Equal(Convert.ToHexString(LedgerFixtures.Raw(1, 10)), Text(raw.GetProperty("payload_hex")));
        Assert.Null(Text(raw.GetProperty("key")));
        Assert.Null(Text(raw.GetProperty("producer_name")));
        Assert.Null(NullableLong(raw.GetProperty("property_count")));
        Assert.True(raw.GetProperty("event_time_null").GetBoolean());
        Assert.False(raw.GetProperty("frame_null").GetBoolean());
        Assert.Equal(0, Long(raw.GetProperty("payload_offset")));

        // Entry 2: hand-encoded in an unusual order; protobuf's last-wins rules apply.
        var unusual = rows[6];
        Assert.Equal((2L, 0L, 2L), (Long(unusual.GetProperty("entry_id")), Long(unusual.GetProperty("batch_index")), Long(unusual.GetProperty("batch_size"))));
        Assert.Equal("unusual-key", Text(unusual.GetProperty("key")));
        Assert.Equal("teal", Text(unusual.GetProperty("color")));
        Assert.Equal(1, Long(unusual.GetProperty("property_count")));
        Assert.Equal("hand-made", Text(unusual.GetProperty("producer_name")));
        Assert.Equal(P + 2, Long(unusual.GetProperty("publish_time_ms")));
        Assert.Equal(P + 5, Long(unusual.GetProperty("event_time_ms")));
        Assert.Equal(77, Long(unusual.GetProperty("sequence_id")));
        Assert.Equal(Convert.ToHexString(LedgerFixtures.Payload(2, 1, 33)), Text(unusual.GetProperty("payload_hex")));
        Assert.Equal(78, Long(rows[7].GetProperty("sequence_id")));
        Assert.Equal(P + 1, Long(rows[7].GetProperty("deliver_at_ms")));
        Assert.Equal(0, Long(rows[7].GetProperty("payload_length")));

        // Entry 3: empty.
        Assert.Equal((3L, 0L), (Long(rows[8].GetProperty("entry_id")), Long(rows[8].GetProperty("payload_length"))));
    }

    [Theory]
    [InlineData(ParquetCompression.Snappy)]
    [InlineData(ParquetCompression.Zstd)]
    [InlineData(ParquetCompression.Gzip)]
    [InlineData(ParquetCompression.None)]
    public async Task DuckDB_reads_every_row_group_of_a_mixed_ledger(ParquetCompression compression)
    {
        var path = _directory.File("ledger.parquet");
        var layout = await LedgerFixtures.WriteAsync(path, 7, LedgerFixtures.MixedLedger(), new ParquetLedgerOptions { MaxRowGroupBytes = 4 * 1024, Compression = compression });

        using var result = await ReadWithDuckDbAsync(path, limit: 0);

        Assert.True(layout.RowGroups.Count > 5);
        Assert.Equal(layout.Rows, Long(result.RootElement.GetProperty("rows")));
    }

    private static async Task<JsonDocument> ReadWithDuckDbAsync(string parquetFile, int limit = 1000)
    {
        var (exit, output, error) = await NodeScript.RunAsync("read-parquet.js", TimeSpan.FromSeconds(60), parquetFile, limit.ToString(CultureInfo.InvariantCulture));
        Assert.True(exit == 0, $"node read-parquet.js exited with {exit}: {error}");
        return JsonDocument.Parse(output);
    }

    /// <summary>DuckDB's BIGINT comes as a string (JSON numbers cannot hold every int64), INTEGER as a number.</summary>
    private static long Long(JsonElement value) => NullableLong(value) ?? throw new InvalidDataException("expected a number, got null");

    private static long? NullableLong(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => long.Parse(value.GetString()!, CultureInfo.InvariantCulture),
        _ => value.GetInt64(),
    };

    private static string? Text(JsonElement value) => value.ValueKind == JsonValueKind.Null ? null : value.GetString();
}
