using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class WriteCacheTests
{
    private static byte[] Payload(long ledger, long entry, int size) =>
        [.. Enumerable.Range(0, size).Select(i => (byte)(ledger * 31 + entry * 7 + i))];

    [Fact]
    public void Entries_read_back_byte_for_byte_across_segments()
    {
        using var cache = new WriteCache(64L * 1024 * 1024);
        for (long e = 0; e < 50; e++)
            Assert.True(cache.TryPut(1, e, Payload(1, e, 300_000))); // 50 × 300 KB spans several 4 MiB segments
        for (long e = 0; e < 50; e++)
            Assert.Equal(Payload(1, e, 300_000), cache.Get(1, e));
        Assert.Null(cache.Get(1, 50));
        Assert.Equal(49, cache.LastEntryId(1));
        Assert.Equal(50L * 300_000, cache.Bytes);
    }

    [Fact]
    public void Segments_are_kept_for_the_next_round_and_dropped_when_idle()
    {
        using var cache = new WriteCache(64L * 1024 * 1024);
        for (long e = 0; e < 3; e++)
            Assert.True(cache.TryPut(1, e, new byte[WriteCache.SegmentBytes / 2 + 1])); // one segment each
        cache.ReleaseIdleSegments(); // in use: kept
        Assert.Equal(3, cache.HeldSegments);
        cache.Clear();
        Assert.Equal(3, cache.HeldSegments); // kept for the next round
        Assert.True(cache.TryPut(1, 3, [1, 2, 3]));
        cache.ReleaseIdleSegments(); // one in use again: still kept
        Assert.Equal(3, cache.HeldSegments);
        cache.Clear();
        cache.ReleaseIdleSegments(); // an idle bookie's flush: all go
        Assert.Equal(0, cache.HeldSegments);
        Assert.True(cache.TryPut(1, 4, [4]));
        Assert.Equal([4], cache.Get(1, 4));
    }

    [Fact]
    public void A_full_cache_refuses_the_put_and_keeps_what_it_has()
    {
        using var cache = new WriteCache(WriteCache.SegmentBytes);
        var big = new byte[WriteCache.SegmentBytes / 2];
        Assert.True(cache.TryPut(1, 0, big));
        Assert.True(cache.TryPut(1, 1, big));
        Assert.False(cache.TryPut(1, 2, [1]));
        Assert.Equal(2, cache.Count);
        Assert.Null(cache.Get(1, 2));
    }

    [Fact]
    public void Flush_order_groups_each_ledger_and_sorts_entries()
    {
        using var cache = new WriteCache(WriteCache.SegmentBytes);
        (long L, long E)[] added = [(7, 2), (3, 1), (7, 0), (3, 0), (300, 5), (7, 1)];
        foreach (var (l, e) in added)
            cache.TryPut(l, e, Payload(l, e, 10));
        var seen = new List<(long, long)>();
        cache.ForEachSorted((l, e, bytes) =>
        {
            Assert.Equal(Payload(l, e, 10), bytes.ToArray());
            seen.Add((l, e));
        });
        Assert.Equal(added.Order(), seen);
    }

    [Fact]
    public void A_removed_ledger_disappears_and_clear_empties_everything()
    {
        using var cache = new WriteCache(WriteCache.SegmentBytes);
        cache.TryPut(1, 0, [1, 2]);
        cache.TryPut(2, 0, [3]);
        cache.RemoveLedger(1);
        Assert.Null(cache.Get(1, 0));
        Assert.Null(cache.LastEntryId(1));
        Assert.Equal(1, cache.Bytes);
        cache.Clear();
        Assert.Equal(0, cache.Count);
        Assert.Null(cache.Get(2, 0));
        Assert.True(cache.TryPut(2, 1, [4]));
    }

    [Fact]
    public void Concurrent_puts_and_reads_lose_nothing()
    {
        using var cache = new WriteCache(256L * 1024 * 1024);
        Parallel.For(0, 8, ledger =>
        {
            for (long e = 0; e < 2000; e++)
            {
                Assert.True(cache.TryPut(ledger, e, Payload(ledger, e, 100)));
                Assert.Equal(Payload(ledger, e, 100), cache.Get(ledger, e));
            }
        });
        Assert.Equal(16_000, cache.Count);
    }

    [Fact]
    public async Task An_add_is_kept_as_its_journal_record_and_the_cache_tells_when_the_journal_is_done_with_it()
    {
        using var cache = new WriteCache(WriteCache.SegmentBytes);
        var payload = Payload(4, 2, 50);
        Assert.True(cache.TryPutAdd(4, 2, 1, 0xABCD, payload, out var record));
        Assert.Equal(BookieRecord.Add(4, 2, 1, 0xABCD, payload), record.ToArray());
        Assert.Equal(BookieRecord.StoredEntry(record).ToArray(), cache.Get(4, 2));
        var journaled = cache.WhenJournaled();
        Assert.False(journaled.IsCompleted);
        cache.Journaled();
        await journaled.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(cache.WhenJournaled().IsCompleted);
    }
}
