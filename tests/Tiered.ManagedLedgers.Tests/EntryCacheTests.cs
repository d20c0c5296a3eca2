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
}
