using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tiered.ManagedLedgers.Tests;

/// <summary>
/// An added entry goes into the entry cache only while an active cursor reads near the tail (Pulsar's rule): a
/// subscription nobody reads costs no copy, tailing consumers (one or a fan-out) read nothing from the bookies, and a
/// consumer that falls behind further than the cache reaches stops the caching.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class CacheOnAddTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task Without_an_active_cursor_added_entries_are_not_copied_into_the_cache()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client);
        // A subscription without consumers, and one whose consumer left.
        await ledger.OpenCursorAsync("unread", InitialPosition.Latest);
        var left = await ledger.OpenCursorAsync("left", InitialPosition.Latest);
        left.SetActive();
        left.SetInactive();

        var positions = await AddAsync(ledger, 0, 20);

        Assert.Equal(0, ledger.Cache.Count);
        Assert.Equal(0, ledger.EntriesCachedOnAdd);
        // Read from the bookies all the same.
        Assert.Equal(Enumerable.Range(0, 20), (await ledger.ReadEntriesAsync(positions[0], 20)).Select(MessageOf));
    }

    [Fact]
    public async Task A_tailing_consumer_and_a_fan_out_of_four_read_every_added_entry_from_the_cache()
    {
        const int Entries = 300;
        using var instrumentation = new Instrumentation(meterFactory: null);
        using var hits = new MetricCollector<long>(instrumentation.CacheHits);
        using var misses = new MetricCollector<long>(instrumentation.CacheMisses);
        await using var client = NewClient();
        await using var ledger = await ManagedLedger.OpenAsync(NewName(), client, Metadata, Small(entriesPerLedger: 100), NullLoggerFactory.Instance,
            instrumentation: instrumentation);
        using var stop = new CancellationTokenSource(Deadline);
        var readers = new List<Task<List<ManagedEntry>>>();
        for (var s = 0; s < 4; s++)
        {
            var cursor = await ledger.OpenCursorAsync($"sub-{s}", InitialPosition.Latest);
            cursor.SetActive();
            readers.Add(Task.Run(async () =>
            {
                var read = new List<ManagedEntry>();
                while (read.Count < Entries)
                {
                    await cursor.WaitForEntriesAsync(stop.Token);
                    read.AddRange(await cursor.ReadEntriesAsync(50, stop.Token));
                }
                return read;
            }));
        }

        // Through two rollovers, 20 adds in flight at a time.
        var positions = new List<Position>();
        for (var i = 0; i < Entries; i += 20)
            positions.AddRange(await AddAsync(ledger, i, 20));

        foreach (var read in await Task.WhenAll(readers).WaitAsync(Deadline))
            Assert.Equal(positions, read.Select(e => e.Position));
        Assert.Equal(Entries, ledger.EntriesCachedOnAdd);
        Assert.Empty(misses.GetMeasurementSnapshot());
        Assert.Equal(4 * Entries, hits.GetMeasurementSnapshot().Sum(m => m.Value));
    }

    [Fact]
    public async Task A_consumer_that_falls_behind_further_than_the_cache_reaches_stops_the_caching_until_it_catches_up()
    {
        await using var client = NewClient();
        // 2,000 bytes: twenty entries of 100.
        await using var ledger = await OpenAsync(NewName(), client, Small() with { EntryCacheBytes = 2_000 });
        var cursor = await ledger.OpenCursorAsync("slow", InitialPosition.Latest);
        cursor.SetActive();
        var payload = new byte[100];
        for (var i = 0; i < 5; i++)
            await ledger.AddEntryAsync(payload);
        Assert.Equal(5, (await cursor.ReadEntriesAsync(100)).Count);
        Assert.Equal(5, ledger.EntriesCachedOnAdd);

        // The consumer stops reading: caching goes on while its next entry is cached, then stops.
        var added = new List<Position>();
        for (var i = 0; i < 60; i++)
            added.Add(await ledger.AddEntryAsync(payload));
        Assert.InRange(ledger.EntriesCachedOnAdd, 5 + 19, 5 + 21);
        Assert.All(added.TakeLast(30), p => Assert.False(ledger.Cache.TryGet(p, out _), $"{p} was cached for a cursor far behind"));

        // It catches up (from the bookies): at the tail again, the next add is cached for it.
        Assert.Equal(60, (await DrainAsync(cursor)).Count);
        var next = await ledger.AddEntryAsync(payload);
        Assert.True(ledger.Cache.TryGet(next, out _));
    }
}
