using Tiered.Offloader.Parquet;

namespace Tiered.Offloader.Tests.Parquet;

public sealed class RangedReadTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_row_group_is_read_with_only_its_ranges_and_no_other_fetch()
    {
        var entries = LedgerFixtures.MixedLedger();
        var path = _directory.File("ledger.parquet");
        var layout = await LedgerFixtures.WriteAsync(path, 7, entries, new ParquetLedgerOptions { MaxRowGroupBytes = 4 * 1024 });
        var bytes = await File.ReadAllBytesAsync(path);

        for (var i = 0; i < layout.RowGroups.Count; i++)
        {
            var prefetched = new List<(long, ReadOnlyMemory<byte>)>();
            long fetchedBytes = 0;
            foreach (var (offset, length) in layout.RangesFor(i))
            {
                prefetched.Add((offset, bytes.AsMemory((int)offset, (int)length)));
                fetchedBytes += length;
            }
            using var stream = new RangeReadStream(bytes.Length, Fetch(bytes), prefetched);

            var group = await LedgerParquetReader.ReadRowGroupAsync(stream, i);

            Assert.Equal(0, stream.FetchCount);
            Assert.True(fetchedBytes < bytes.Length || layout.RowGroups.Count == 1, $"row group {i} needed {fetchedBytes} of {bytes.Length} bytes");
            var group0 = layout.RowGroups[i];
            Assert.Equal(group0.LastEntryId - group0.FirstEntryId + 1, group.Count);
            foreach (var entry in group)
                Assert.True(entries[(int)entry.EntryId].Bytes.AsSpan().SequenceEqual(entry.Data.Span), $"entry {entry.EntryId} differs");
        }
    }

    [Fact]
    public async Task Without_prefetched_ranges_the_stream_fetches_what_it_reads()
    {
        var entries = LedgerFixtures.MixedLedger();
        var path = _directory.File("ledger.parquet");
        var layout = await LedgerFixtures.WriteAsync(path, 7, entries, new ParquetLedgerOptions { MaxRowGroupBytes = 4 * 1024 });
        var bytes = await File.ReadAllBytesAsync(path);
        using var stream = new RangeReadStream(bytes.Length, Fetch(bytes), []);

        var group = await LedgerParquetReader.ReadRowGroupAsync(stream, 2);

        Assert.True(stream.FetchCount > 0);
        Assert.Equal(layout.RowGroups[2].FirstEntryId, group[0].EntryId);
        foreach (var entry in group)
            Assert.True(entries[(int)entry.EntryId].Bytes.AsSpan().SequenceEqual(entry.Data.Span));
    }

    [Fact]
    public void Ranges_of_a_row_group_are_the_magic_its_bytes_and_the_footer_merged_where_they_touch()
    {
        var layout = new ParquetObjectLayout(1000, 900, 30,
            [new RowGroupLayout(0, 9, 10, 4, 296), new RowGroupLayout(10, 19, 10, 300, 300), new RowGroupLayout(20, 29, 10, 600, 300)]);

        Assert.Equal([(0L, 300L), (900L, 100L)], layout.RangesFor(0));
        Assert.Equal([(0L, 4L), (300L, 300L), (900L, 100L)], layout.RangesFor(1));
        Assert.Equal([(0L, 4L), (600L, 400L)], layout.RangesFor(2));
        Assert.Equal(1, layout.RowGroupOf(15));
        Assert.Equal(-1, layout.RowGroupOf(30));
    }

    [Fact]
    public async Task Reads_across_prefetched_and_fetched_bytes_return_the_object()
    {
        var bytes = LedgerFixtures.Payload(3, 0, 300_000);
        using var stream = new RangeReadStream(bytes.Length, Fetch(bytes), [(100, bytes.AsMemory(100, 1000)), (250_000, bytes.AsMemory(250_000, 50_000))]);
        var copy = new MemoryStream();
        var buffer = new byte[50_000];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
            copy.Write(buffer, 0, read);

        Assert.Equal(bytes, copy.ToArray());
        // Misses fetch 64 KiB, cut at a prefetched range: 0..100, 1,100..66,636, ..132,172, ..197,708, ..250,000.
        Assert.Equal(5, stream.FetchCount);
    }

    private static Func<long, Memory<byte>, CancellationToken, Task<int>> Fetch(byte[] bytes) =>
        (offset, destination, _) =>
        {
            var count = (int)Math.Min(destination.Length, bytes.Length - offset);
            bytes.AsSpan((int)offset, count).CopyTo(destination.Span);
            return Task.FromResult(count);
        };
}
