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
