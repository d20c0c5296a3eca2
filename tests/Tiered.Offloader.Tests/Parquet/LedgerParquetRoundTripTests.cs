using Tiered.Offloader.Parquet;

namespace Tiered.Offloader.Tests.Parquet;

public sealed class LedgerParquetRoundTripTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(ParquetCompression.Snappy)]
    [InlineData(ParquetCompression.None)]
    [InlineData(ParquetCompression.Zstd)]
    [InlineData(ParquetCompression.Gzip)]
    public async Task Every_entry_is_rebuilt_byte_for_byte_from_its_row_group(ParquetCompression compression)
    {
        var entries = LedgerFixtures.MixedLedger();
        var path = _directory.File("ledger.parquet");
        var layout = await LedgerFixtures.WriteAsync(path, 12, entries, new ParquetLedgerOptions { MaxRowGroupBytes = 4 * 1024, Compression = compression });

        Assert.True(layout.RowGroups.Count > 5, $"expected several row groups, got {layout.RowGroups.Count}");
        var rebuilt = new List<OffloadEntry>();
        await using (var file = File.OpenRead(path))
        {
            for (var i = 0; i < layout.RowGroups.Count; i++)
            {
                var group = await LedgerParquetReader.ReadRowGroupAsync(file, i);
                Assert.Equal(layout.RowGroups[i].LastEntryId - layout.RowGroups[i].FirstEntryId + 1, group.Count);
                Assert.Equal(layout.RowGroups[i].FirstEntryId, group[0].EntryId);
                rebuilt.AddRange(group);
            }
        }

        Assert.Equal(entries.Count, rebuilt.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(entries[i].Id, rebuilt[i].EntryId);
            Assert.True(entries[i].Bytes.AsSpan().SequenceEqual(rebuilt[i].Data.Span), $"entry {entries[i].Id} differs after the round trip");
        }
    }

    [Fact]
    public async Task Ledgers_written_and_read_at_the_same_time_do_not_disturb_each_other()
    {
        var entries = LedgerFixtures.MixedLedger();
        var options = new ParquetLedgerOptions { MaxRowGroupBytes = 4 * 1024 };
        var ledgers = Enumerable.Range(0, 4).ToArray();

        await Task.WhenAll(ledgers.Select(ledger => Task.Run(async () =>
        {
            var path = _directory.File($"ledger-{ledger}.parquet");
            var layout = await LedgerFixtures.WriteAsync(path, ledger, entries, options);
            await using var file = File.OpenRead(path);
            for (var i = 0; i < layout.RowGroups.Count; i++)
            {
                foreach (var entry in await LedgerParquetReader.ReadRowGroupAsync(file, i))
                    Assert.True(entries[(int)entry.EntryId].Bytes.AsSpan().SequenceEqual(entry.Data.Span), $"ledger {ledger} entry {entry.EntryId} differs");
            }
        })));
    }

    [Fact]
    public async Task Row_groups_cover_every_entry_contiguously_and_match_the_footer()
    {
        var entries = LedgerFixtures.MixedLedger();
        var path = _directory.File("ledger.parquet");
        var layout = await LedgerFixtures.WriteAsync(path, 12, entries, new ParquetLedgerOptions { MaxRowGroupBytes = 4 * 1024 });

        Assert.Equal(new FileInfo(path).Length, layout.Size);
        Assert.Equal(0, layout.RowGroups[0].FirstEntryId);
        Assert.Equal(entries[^1].Id, layout.RowGroups[^1].LastEntryId);
        Assert.Equal(ParquetObjectLayout.MagicLength, layout.RowGroups[0].Offset);
        for (var i = 1; i < layout.RowGroups.Count; i++)
        {
            Assert.Equal(layout.RowGroups[i - 1].LastEntryId + 1, layout.RowGroups[i].FirstEntryId);
            Assert.Equal(layout.RowGroups[i - 1].Offset + layout.RowGroups[i - 1].Length, layout.RowGroups[i].Offset);
        }
        Assert.Equal(layout.RowGroups[^1].Offset + layout.RowGroups[^1].Length, layout.FooterOffset);
        long rows = 0;
        foreach (var group in layout.RowGroups)
            rows += group.Rows;
        Assert.Equal(layout.Rows, rows);

        await using var file = File.OpenRead(path);
        var footer = await LedgerParquetReader.ReadLayoutAsync(file);
        Assert.Equal(layout.Size, footer.Size);
        Assert.Equal(layout.FooterOffset, footer.FooterOffset);
        Assert.Equal(layout.Rows, footer.Rows);
        Assert.Equal(layout.RowGroups, footer.RowGroups);
    }

    [Fact]
    public async Task A_row_group_is_cut_at_the_first_entry_boundary_past_the_limit()
    {
        var entries = new List<(long, byte[])>();
        for (long id = 0; id < 10; id++)
            entries.Add((id, LedgerFixtures.Raw(id, 400)));
        var layout = await LedgerFixtures.WriteAsync(_directory.File("ledger.parquet"), 1, entries, new ParquetLedgerOptions { MaxRowGroupBytes = 1000 });

        Assert.Equal([(0L, 2L), (3L, 5L), (6L, 8L), (9L, 9L)], layout.RowGroups.Select(g => (g.FirstEntryId, g.LastEntryId)));
    }

    [Fact]
    public async Task One_row_per_message_and_one_row_per_other_entry()
    {
        (long, byte[])[] entries = [(0, LedgerFixtures.Batch(0, 5)), (1, LedgerFixtures.Raw(1, 10)), (2, LedgerFixtures.UnusualBatch(2)), (3, [])];
        var layout = await LedgerFixtures.WriteAsync(_directory.File("ledger.parquet"), 1, entries, new ParquetLedgerOptions());

        Assert.Equal(5 + 1 + 2 + 1, layout.Rows);
        Assert.Single(layout.RowGroups);
    }

    [Fact]
    public async Task An_empty_ledger_is_a_valid_object_without_row_groups()
    {
        var path = _directory.File("ledger.parquet");
        var layout = await LedgerFixtures.WriteAsync(path, 1, [], new ParquetLedgerOptions());

        Assert.Empty(layout.RowGroups);
        Assert.Equal(0, layout.Rows);
        await using var file = File.OpenRead(path);
        var footer = await LedgerParquetReader.ReadLayoutAsync(file);
        Assert.Equal(layout.Size, footer.Size);
        Assert.Empty(footer.RowGroups);
    }

    [Fact]
    public async Task Entries_out_of_order_are_refused()
    {
        await using var output = new FileStream(_directory.File("ledger.parquet"), FileMode.CreateNew, FileAccess.ReadWrite);
        await using var writer = new LedgerParquetWriter(output, 1, new ParquetLedgerOptions());
        await writer.AddEntryAsync(5, new byte[] { 1 });

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await writer.AddEntryAsync(5, new byte[] { 1 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await writer.AddEntryAsync(4, new byte[] { 1 }));
        Assert.Equal(1, writer.EntriesAdded);
    }

    [Fact]
    public async Task An_output_that_does_not_start_at_zero_is_refused()
    {
        await using var output = new FileStream(_directory.File("ledger.parquet"), FileMode.CreateNew, FileAccess.ReadWrite);
        output.WriteByte(1);

        Assert.Throws<ArgumentException>(() => new LedgerParquetWriter(output, 1, new ParquetLedgerOptions()));
    }

    [Fact]
    public void Bad_options_are_refused_with_the_value_named()
    {
        var error = Assert.Throws<ArgumentException>(() => new ParquetLedgerOptions { MaxRowGroupBytes = 0 }.Validate());
        Assert.Contains("MaxRowGroupBytes", error.Message);
        Assert.Throws<ArgumentException>(() => new ParquetLedgerOptions { Compression = (ParquetCompression)42 }.Validate());
    }

    [Fact]
    public async Task Bytes_written_grows_as_row_groups_are_cut()
    {
        await using var output = new FileStream(_directory.File("ledger.parquet"), FileMode.CreateNew, FileAccess.ReadWrite);
        await using var writer = new LedgerParquetWriter(output, 1, new ParquetLedgerOptions { MaxRowGroupBytes = 3_000 });
        await writer.AddEntryAsync(0, LedgerFixtures.Batch(0, 10, payloadBytes: 500));
        var afterFirst = writer.BytesWritten;
        await writer.AddEntryAsync(1, LedgerFixtures.Batch(1, 10, payloadBytes: 500));
        var afterSecond = writer.BytesWritten;
        var layout = await writer.CompleteAsync();

        Assert.True(afterSecond > afterFirst, $"{afterSecond} after two entries, {afterFirst} after one");
        Assert.Equal(layout.Size, writer.BytesWritten);
        Assert.Equal(2, writer.EntriesAdded);
    }

    [Fact]
    public async Task An_object_that_is_not_an_offloaded_ledger_is_refused()
    {
        var path = _directory.File("other.bin");
        await File.WriteAllBytesAsync(path, LedgerFixtures.Raw(1, 100));
        await using var file = File.OpenRead(path);

        await Assert.ThrowsAsync<InvalidDataException>(() => LedgerParquetReader.ReadRowGroupAsync(file, 0));
    }
}
