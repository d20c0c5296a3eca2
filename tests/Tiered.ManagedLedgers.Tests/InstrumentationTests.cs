using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Tiered.ManagedLedgers.Tests;

/// <summary>The managed ledgers' instruments move by what the managed ledger did.</summary>
[Collection(ClusterCollection.Name)]
public sealed class InstrumentationTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task Rollovers_are_counted_and_reads_count_cache_hits_then_misses_once_the_cache_is_gone()
    {
        using var instrumentation = new Instrumentation(meterFactory: null);
        using var rollovers = new MetricCollector<long>(instrumentation.Rollovers);
        using var hits = new MetricCollector<long>(instrumentation.CacheHits);
        using var misses = new MetricCollector<long>(instrumentation.CacheMisses);
        var name = NewName();
        await using var client = NewClient();
        Position first;
        await using (var ledger = await ManagedLedger.OpenAsync(name, client, Metadata, Small(entriesPerLedger: 10), NullLoggerFactory.Instance, instrumentation: instrumentation))
        {
            // A consumer at the tail: the adds are cached for it.
            (await ledger.OpenCursorAsync("tail", InitialPosition.Latest)).SetActive();
            var positions = await AddAsync(ledger, 0, 25);
            first = positions[0];

            Assert.Equal(positions.Select(p => p.LedgerId).Distinct().Count() - 1, rollovers.GetMeasurementSnapshot().Sum(m => m.Value));
            Assert.Equal(25, (await ledger.ReadEntriesAsync(first, 25)).Count);
            Assert.Equal(25, hits.GetMeasurementSnapshot().Sum(m => m.Value));
            Assert.Empty(misses.GetMeasurementSnapshot());
        }

        await using var reopened = await ManagedLedger.OpenAsync(name, client, Metadata, Small(entriesPerLedger: 10), NullLoggerFactory.Instance, createIfMissing: false,
            instrumentation: instrumentation);
        Assert.Equal(25, (await reopened.ReadEntriesAsync(first, 25)).Count);
        Assert.Equal(25, misses.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(25, hits.GetMeasurementSnapshot().Sum(m => m.Value));
    }
}
