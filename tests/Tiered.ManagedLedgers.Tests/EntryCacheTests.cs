namespace Tiered.ManagedLedgers.Tests;

public class EntryCacheTests
{
    [Fact]
    public void Entries_older_than_the_age_limit_are_dropped()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var cache = new EntryCache(1024, TimeSpan.FromSeconds(10), clock);
        cache.Put(new Position(1, 0), new byte[10]);
        clock.Advance(TimeSpan.FromSeconds(6));
        cache.Put(new Position(1, 1), new byte[10]);
        clock.Advance(TimeSpan.FromSeconds(6));
        cache.EvictExpired();
        Assert.False(cache.TryGet(new Position(1, 0), out _));
        Assert.True(cache.TryGet(new Position(1, 1), out _));
        Assert.Equal(10, cache.Bytes);
        clock.Advance(TimeSpan.FromSeconds(6));
        cache.EvictExpired();
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void The_oldest_entries_go_first_when_the_cache_is_full()
    {
        var cache = new EntryCache(25, TimeSpan.FromMinutes(1), TimeProvider.System);
        for (var i = 0; i < 5; i++)
            cache.Put(new Position(1, i), new byte[10]);
        Assert.Equal([false, false, false, true, true], Enumerable.Range(0, 5).Select(i => cache.TryGet(new Position(1, i), out _)));
        Assert.Equal(20, cache.Bytes);
    }

    [Fact]
    public void Small_entries_share_a_few_slabs_and_keep_their_bytes_after_the_adder_reuses_its_buffer()
    {
        var cache = new EntryCache(64L * 1024 * 1024, TimeSpan.FromMinutes(1), TimeProvider.System);
        var buffer = new byte[100];
        for (var i = 0; i < 10_000; i++)
        {
            buffer.AsSpan().Fill((byte)i);
            cache.Put(new Position(1, i), buffer);
        }
        var arrays = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(cache.TryGet(new Position(1, i), out var data));
            Assert.True(data.Span.IndexOfAnyExcept((byte)i) < 0, $"entry {i} changed");
            Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment));
            arrays.Add(segment.Array!);
        }
        // 1,000,000 bytes in slabs doubling from 4 KiB to 1 MiB: 9 arrays, not 10,000.
        Assert.InRange(arrays.Count, 1, 12);
    }

    [Fact]
    public void A_reader_keeps_its_entry_intact_after_eviction_and_later_puts()
    {
        var cache = new EntryCache(1_000, TimeSpan.FromMinutes(1), TimeProvider.System);
        cache.Put(new Position(1, 0), Enumerable.Repeat((byte)7, 100).ToArray());
        Assert.True(cache.TryGet(new Position(1, 0), out var held));
        for (var i = 1; i < 100; i++)
            cache.Put(new Position(1, i), Enumerable.Repeat((byte)9, 100).ToArray());
        Assert.False(cache.TryGet(new Position(1, 0), out _));
        Assert.True(held.Span.IndexOfAnyExcept((byte)7) < 0);
    }

    [Fact]
    public void A_run_of_hits_is_taken_up_to_the_first_miss_and_a_run_of_misses_ends_before_the_next_hit()
    {
        var cache = new EntryCache(1024, TimeSpan.FromMinutes(1), TimeProvider.System);
        foreach (var entryId in new long[] { 0, 1, 2, 5, 6 })
            cache.Put(new Position(1, entryId), new byte[] { (byte)entryId });
        var into = new List<ManagedEntry>();

        Assert.Equal(3, cache.TakeRun(1, 0, 9, into));
        Assert.Equal([0, 1, 2], into.Select(e => e.Position.EntryId));
        Assert.Equal(4, cache.MissEnd(1, 3, 9));
        Assert.Equal(3, cache.MissEnd(1, 3, 3));
        Assert.Equal(2, cache.TakeRun(1, 5, 9, into));
        Assert.Equal(9, cache.MissEnd(1, 7, 9));
        Assert.Equal(0, cache.TakeRun(2, 0, 9, into));
    }
}
