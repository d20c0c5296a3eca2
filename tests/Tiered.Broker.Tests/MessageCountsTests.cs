using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Tests;

/// <summary>The per-entry message index behind backlogs in messages.</summary>
public sealed class MessageCountsTests
{
    [Fact]
    public void Counts_over_any_range_match_the_recorded_batch_sizes_whatever_the_order_they_were_recorded_in()
    {
        var counts = new MessageCounts();
        var random = new Random(11);
        var sizes = new int[3000];
        foreach (var entry in Enumerable.Range(0, sizes.Length).OrderBy(_ => random.Next()))
        {
            sizes[entry] = random.Next(1, 50);
            counts.Record(new Position(7, entry), sizes[entry]);
        }
        counts.Record(new Position(7, 5), sizes[5] = 3);

        for (var i = 0; i < 500; i++)
        {
            var first = random.Next(sizes.Length);
            var last = random.Next(first, sizes.Length + 100);
            var expected = sizes.Skip(first).Take(last - first + 1).Sum(s => s - 1L);
            Assert.Equal(expected, counts.ExtraMessages(7, first, last));
        }
        Assert.Equal(0, counts.ExtraMessages(8, 0, 100));
    }

    [Fact]
    public void Ledgers_no_longer_in_the_managed_ledger_are_forgotten()
    {
        var counts = new MessageCounts();
        counts.Record(new Position(1, 0), 10);
        counts.Record(new Position(2, 0), 4);
        counts.Retain([new LedgerSummary(2, 1, 100, 0, IsOpen: true)]);
        Assert.Equal(0, counts.ExtraMessages(1, 0, 0));
        Assert.Equal(3, counts.ExtraMessages(2, 0, 0));
    }
}
