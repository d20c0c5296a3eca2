namespace Tiered.ManagedLedgers.Tests;

public sealed class AckedRangesTests
{
    private static Position P(long ledger, long entry) => new(ledger, entry);

    [Fact]
    public void Adjacent_acks_merge_into_one_range_and_ranges_never_span_ledgers()
    {
        var ranges = new AckedRanges();
        foreach (var entry in new long[] { 5, 3, 4, 9, 7, 8 })
            ranges.Add(P(1, entry));
        ranges.Add(P(2, 0));
        ranges.Add(P(1, 4));

        Assert.Equal([new AckedRange(1, 3, 5), new AckedRange(1, 7, 9), new AckedRange(2, 0, 0)], ranges.Ranges);
        Assert.True(ranges.Contains(P(1, 8)));
        Assert.False(ranges.Contains(P(1, 6)));
        Assert.False(ranges.Contains(P(2, 1)));
        Assert.Equal(new AckedRange(1, 7, 9), ranges.NextAfter(P(1, 6)));
        Assert.Equal(7, ranges.CountUpTo(P(2, 0)));
        Assert.Equal(5, ranges.CountUpTo(P(1, 8)));

        ranges.Add(P(1, 6));
        Assert.Equal([new AckedRange(1, 3, 9), new AckedRange(2, 0, 0)], ranges.Ranges);
    }

    [Fact]
    public void Removing_up_to_a_mark_delete_position_drops_and_trims_ranges()
    {
        var ranges = new AckedRanges();
        ranges.AddRange(new AckedRange(1, 2, 4));
        ranges.AddRange(new AckedRange(1, 8, 12));
        ranges.AddRange(new AckedRange(3, 0, 1));
        ranges.AddRange(new AckedRange(1, 5, 6));

        Assert.Equal([new AckedRange(1, 2, 6), new AckedRange(1, 8, 12), new AckedRange(3, 0, 1)], ranges.Ranges);
        ranges.RemoveUpTo(P(1, 9));
        Assert.Equal([new AckedRange(1, 10, 12), new AckedRange(3, 0, 1)], ranges.Ranges);
        ranges.RemoveUpTo(P(2, -1));
        Assert.Equal([new AckedRange(3, 0, 1)], ranges.Ranges);
    }

    [Fact]
    public void A_batch_counts_as_acknowledged_once_every_index_is()
    {
        var batch = new BatchAckState(70);
        batch.SetUpTo(64);
        Assert.False(batch.All);
        Assert.Equal(65, batch.Indexes().Count);
        for (var i = 65; i < 70; i++)
            batch.Set(i);
        Assert.True(batch.All);
        Assert.True(new BatchAckState(70, batch.Bits).All);
    }

    [Fact]
    public void A_batch_index_acknowledged_twice_counts_once()
    {
        var batch = new BatchAckState(3);
        batch.Set(1);
        batch.Set(1);
        batch.Set(5); // past the batch: ignored
        Assert.Equal(1, batch.Count);
        Assert.False(batch.All);
        batch.SetUpTo(2);
        Assert.Equal(3, batch.Count);
        Assert.True(batch.All);
        // A stored state with bits past the batch size (never written, but not trusted) does not count them.
        var stored = new BatchAckState(3, [0b1111_0011UL]);
        Assert.Equal(2, stored.Count);
        Assert.False(stored.All);
    }
}
