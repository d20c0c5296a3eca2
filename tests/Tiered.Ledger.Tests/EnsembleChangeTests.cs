using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Tiered.Bookie.V1;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>The writer replaces a failed bookie by an ensemble change instead of failing its adds.</summary>
public sealed class EnsembleChangeTests
{
    /// <summary>
    /// Writes at least <paramref name="entries"/> pipelined with at most <paramref name="inFlight"/>
    /// unacknowledged. Once <paramref name="stopAfter"/> are acknowledged it starts stopping
    /// <paramref name="victims"/> and keeps adding until they are down (a stopping bookie serves its
    /// open streams for its 2 s shutdown grace, so the streams break with adds in flight), then
    /// adds one more window. Every add must succeed, with ids in order. Returns how many it wrote.
    /// </summary>
    private static async Task<int> WriteThroughFailuresAsync(BookieCluster cluster, LedgerWriter writer, int entries, int inFlight, int stopAfter, params string[] victims)
    {
        const int Cap = 1_000_000;
        var adds = new Queue<(long Expected, Task<long> Add)>();
        Task? stopping = null;
        var acknowledged = 0;
        var total = entries;
        var down = false;
        for (var i = 0; i < total; i++)
        {
            adds.Enqueue((i, writer.AddEntryAsync(Payload(i)).AsTask()));
            if (stopping is not null && !down)
            {
                if (stopping.IsCompleted || i >= Cap)
                    (total, down) = (Math.Max(entries, i + inFlight), true);
                else
                    total = Math.Max(total, i + 2);
            }
            while (adds.Count >= inFlight || (i == total - 1 && adds.Count > 0))
            {
                var (expected, add) = adds.Dequeue();
                Assert.Equal(expected, await add.WaitAsync(TimeSpan.FromSeconds(60)));
                if (++acknowledged == stopAfter)
                    stopping = Task.WhenAll(victims.Select(cluster.StopAsync));
            }
        }
        Assert.NotNull(stopping);
        await stopping;
        Assert.Equal(total - 1, writer.LastAddConfirmed);
        return total;
    }

    [Fact]
    public async Task When_an_ensemble_bookie_stops_mid_write_it_is_replaced_and_every_add_succeeds_in_order()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        const int Entries = 10_000;
        long ledgerId;
        string victim;
        IReadOnlyList<string> original;
        int written;
        await using (var client = new LedgerClient(cluster.Metadata))
        {
            var writer = await client.CreateLedgerAsync(3, 2, 2);
            original = [.. writer.Metadata.Segments[0].Bookies];
            victim = original[1];
            var spare = cluster.BookieIds.Single(b => !original.Contains(b));

            written = await WriteThroughFailuresAsync(cluster, writer, Entries, inFlight: 500, stopAfter: Entries / 2, victim);
            Assert.InRange(written, Entries, 1_000_000);
            await writer.CloseAsync();
            ledgerId = writer.LedgerId;

            var segments = writer.Metadata.Segments;
            Assert.Equal(2, segments.Count);
            Assert.Equal(0, segments[0].FirstEntryId);
            Assert.Equal(original, segments[0].Bookies);
            Assert.InRange(segments[1].FirstEntryId, Entries / 2, written - 1);
            Assert.Equal([original[0], spare, original[2]], segments[1].Bookies);
        }

        await using var reader = new LedgerClient(cluster.Metadata);
        var ledger = await reader.OpenLedgerAsync(ledgerId);
        Assert.True(ledger.IsClosed);
        Assert.Equal(written - 1, ledger.LastAddConfirmed);
        Assert.Equal(2, ledger.Metadata.Segments.Count);
        Assert.Equal(Enumerable.Range(0, written).Sum(i => (long)Payload(i).Length), ledger.Metadata.Length);
        var entries = new List<LedgerEntry>();
        await foreach (var entry in ledger.ReadAsync(0, ledger.LastAddConfirmed))
            entries.Add(entry);
        AssertEntries(written, entries);
    }

    [Fact]
    public async Task An_ensemble_change_is_counted_and_the_failed_bookie_shows_as_quarantined()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        using var instrumentation = new Instrumentation(meterFactory: null);
        using var changes = new MetricCollector<long>(instrumentation.EnsembleChanges);
        using var quarantined = new MetricCollector<int>(instrumentation.Meter, "tiered_ledger_bookies_quarantined");
        await using var client = new LedgerClient(cluster.Metadata, new LedgerClientOptions { BookieQuarantineTime = TimeSpan.FromMinutes(5) }, instrumentation);
        var writer = await client.CreateLedgerAsync(3, 2, 2);
        quarantined.RecordObservableInstruments();
        Assert.Equal(0, quarantined.LastMeasurement?.Value);

        await WriteThroughFailuresAsync(cluster, writer, 2000, inFlight: 200, stopAfter: 1000, writer.Metadata.Segments[0].Bookies[1]);

        Assert.Equal(writer.Metadata.Segments.Count - 1, changes.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(1, changes.GetMeasurementSnapshot().Sum(m => m.Value));
        quarantined.RecordObservableInstruments();
        Assert.Equal(1, quarantined.LastMeasurement?.Value);
    }

    [Fact]
    public async Task After_an_ensemble_change_the_entries_of_the_new_segment_are_on_the_replacement_and_readers_use_the_covering_segment()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        await using var client = new LedgerClient(cluster.Metadata);
        const int Entries = 2000;
        var writer = await client.CreateLedgerAsync(3, 2, 2);
        var original = writer.Metadata.Segments[0].Bookies.ToList();
        const int Position = 2;
        var victim = original[Position];

        var written = await WriteThroughFailuresAsync(cluster, writer, Entries, inFlight: 200, stopAfter: 1000, victim);
        await writer.CloseAsync();

        var segment = writer.Metadata.Segments[^1];
        var replacement = segment.Bookies[Position];
        Assert.DoesNotContain(replacement, original);
        var schedule = new DistributionSchedule(3, 2, 2);
        var onReplacement = cluster.Client(replacement);
        var checkedEntries = 0;
        for (var entryId = segment.FirstEntryId; entryId < written; entryId++)
        {
            if (!schedule.Stores(entryId, Position))
                continue;
            var response = await onReplacement.ReadEntryAsync(new ReadRequest { LedgerId = writer.LedgerId, EntryId = entryId });
            Assert.Equal(Code.Ok, response.Code);
            Assert.Equal(Payload(entryId), response.Payload.ToByteArray());
            Assert.True(LedgerDigest.Verify(writer.LedgerId, entryId, response.LastAddConfirmed, response.Payload.Span, response.Digest));
            checkedEntries++;
        }
        Assert.True(checkedEntries > 0);

        // A reader asks the replacement only for entries of the segment it belongs to.
        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        var askedReplacement = new ConcurrentBag<long>();
        ledger.ResponseInterceptor = (bookieId, response) =>
        {
            if (bookieId == replacement)
                askedReplacement.Add(response.EntryId);
            return response;
        };
        var entries = new List<LedgerEntry>();
        await foreach (var entry in ledger.ReadAsync(0, written - 1))
            entries.Add(entry);
        AssertEntries(written, entries);
        Assert.NotEmpty(askedReplacement);
        // Judged by the metadata the reader opened, not the writer's: once the ledger is closed, auto-recovery may
        // already have re-replicated the first segment's lost copies to the replacement (the only spare) and
        // rewritten that segment's ensemble. (On a loaded machine a slow bookie may be replaced too, adding segments.)
        var segments = ledger.Metadata.Segments.OrderBy(s => s.FirstEntryId).ToList();
        Assert.All(askedReplacement, id =>
        {
            var covering = segments.Last(s => s.FirstEntryId <= id);
            var index = covering.Bookies.IndexOf(replacement);
            Assert.True(index >= 0 && schedule.Stores(id, index), $"entry {id} was asked of {replacement}, which is not in its write set in segment {covering.FirstEntryId} [{string.Join(", ", covering.Bookies)}]");
        });
    }

    [Fact]
    public async Task Two_ensemble_bookies_stopping_at_once_are_replaced_one_after_the_other()
    {
        await using var cluster = await BookieCluster.StartAsync(5);
        await using var client = new LedgerClient(cluster.Metadata);
        const int Entries = 3000;
        // Qw = 3: every old entry keeps a copy on the bookie that stays.
        var writer = await client.CreateLedgerAsync(3, 3, 2);
        var original = writer.Metadata.Segments[0].Bookies.ToList();

        var written = await WriteThroughFailuresAsync(cluster, writer, Entries, inFlight: 300, stopAfter: 1500, original[0], original[1]);
        await writer.CloseAsync();

        var last = writer.Metadata.Segments[^1].Bookies;
        Assert.DoesNotContain(original[0], last);
        Assert.DoesNotContain(original[1], last);
        Assert.Equal(original[2], last[2]);
        Assert.InRange(writer.Metadata.Segments.Count, 2, 3);

        var ledger = await client.OpenLedgerAsync(writer.LedgerId);
        var entries = new List<LedgerEntry>();
        await foreach (var entry in ledger.ReadAsync(0, ledger.LastAddConfirmed))
            entries.Add(entry);
        AssertEntries(written, entries);
    }
}
