using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tiered.ManagedLedgers.Tests;

/// <summary>
/// <see cref="ManagedLedger.PrefetchAsync"/> reads entries into the cache ahead of a reader (the broker's dispatcher does
/// it for a consumer catching up while it waits for permits): the reader's next read then comes from memory.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class PrefetchTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task Entries_read_ahead_across_a_rollover_are_then_read_from_the_cache_and_in_order()
    {
        using var instrumentation = new Instrumentation(meterFactory: null);
        using var hits = new MetricCollector<long>(instrumentation.CacheHits);
        using var misses = new MetricCollector<long>(instrumentation.CacheMisses);
        await using var client = NewClient();
        await using var ledger = await ManagedLedger.OpenAsync(NewName(), client, Metadata, Small(entriesPerLedger: 10), NullLoggerFactory.Instance,
            instrumentation: instrumentation);
        // One cursor, none reading at the tail: neither adds nor reads are cached by themselves.
        var cursor = await ledger.OpenCursorAsync("catching-up", InitialPosition.Earliest);
        var positions = await AddAsync(ledger, 0, 25);
        Assert.Equal(0, ledger.Cache.Count);

        Assert.Equal(Enumerable.Range(0, 5), (await cursor.ReadEntriesAsync(5)).Select(MessageOf));
        Assert.Equal(5, misses.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(0, ledger.Cache.Count);

        await ledger.PrefetchAsync(cursor.ReadPosition, 10);
        Assert.Equal(10, ledger.EntriesReadAhead);
        Assert.Equal(10, ledger.Cache.Count);
        // Read ahead again over the same entries: nothing more comes from storage, and no reader took them yet.
        await ledger.PrefetchAsync(cursor.ReadPosition, 10);
        Assert.Equal(10, ledger.EntriesReadAhead);
        Assert.Equal(15, misses.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(0, hits.GetMeasurementSnapshot().Sum(m => m.Value));

        Assert.Equal(Enumerable.Range(5, 10), (await cursor.ReadEntriesAsync(10)).Select(MessageOf));
        Assert.Equal(10, hits.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(15, misses.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(Enumerable.Range(15, 10), (await cursor.ReadEntriesAsync(100)).Select(MessageOf));
        Assert.Equal(positions[^1], (await ledger.ReadEntriesAsync(positions[^1], 1)).Single().Position);
    }

    [Fact]
    public async Task Reading_ahead_past_the_last_entry_reads_what_there_is_and_nothing_after()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client);
        var positions = await AddAsync(ledger, 0, 3);

        await ledger.PrefetchAsync(positions[1], 100);
        Assert.Equal(2, ledger.EntriesReadAhead);
        await ledger.PrefetchAsync(ledger.GetNextPosition(positions[^1]), 100);
        Assert.Equal(2, ledger.EntriesReadAhead);
        Assert.Equal(2, ledger.Cache.Count);
    }
}
