namespace Tiered.Ledger.Tests;

public sealed class AddConfirmationsTests
{
    private static readonly DistributionSchedule E3Qw2Qa2 = new(3, 2, 2);

    [Fact]
    public void Entries_stripe_over_the_ensemble_starting_at_consecutive_bookies()
    {
        var s = new DistributionSchedule(5, 3, 2);
        Assert.Equal([0, 1, 2], Enumerable.Range(0, 3).Select(i => s.BookieIndex(0, i)));
        Assert.Equal([3, 4, 0], Enumerable.Range(0, 3).Select(i => s.BookieIndex(3, i)));
        for (long e = 0; e < 20; e++)
        {
            var writeSet = Enumerable.Range(0, 3).Select(i => s.BookieIndex(e, i)).ToHashSet();
            Assert.All(Enumerable.Range(0, 5), b => Assert.Equal(writeSet.Contains(b), s.Stores(e, b)));
        }
        Assert.Equal(2, s.AbsenceQuorum);
    }

    [Theory]
    [InlineData(2, 3, 2)]
    [InlineData(3, 2, 3)]
    [InlineData(3, 2, 0)]
    [InlineData(65, 2, 2)]
    public void Invalid_quorums_are_rejected(int e, int qw, int qa) =>
        Assert.Throws<ArgumentException>(() => new DistributionSchedule(e, qw, qa));

    [Fact]
    public void An_entry_is_confirmed_only_after_ack_quorum_and_all_earlier_entries()
    {
        var c = new AddConfirmations(E3Qw2Qa2);
        for (var i = 0; i < 3; i++)
            c.Add();
        // Entry 1 (bookies 1, 2) fully acked first: nothing confirmed while entry 0 is not.
        Assert.Equal(0, c.Ack(1, 1));
        Assert.Equal(0, c.Ack(1, 2));
        Assert.Equal(-1, c.LastAddConfirmed);
        // Entry 0 (bookies 0, 1): one ack is not a quorum.
        Assert.Equal(0, c.Ack(0, 0));
        Assert.Equal(-1, c.LastAddConfirmed);
        // The second ack confirms 0 and, behind it, 1.
        Assert.Equal(2, c.Ack(0, 1));
        Assert.Equal(1, c.LastAddConfirmed);
        Assert.Equal(1, c.Pending);
    }

    [Fact]
    public void Duplicate_foreign_and_stale_acks_do_not_count()
    {
        var c = new AddConfirmations(E3Qw2Qa2);
        c.Add();
        Assert.Equal(0, c.Ack(0, 0));
        Assert.Equal(0, c.Ack(0, 0)); // the same bookie twice is one ack
        Assert.Equal(0, c.Ack(0, 2)); // bookie 2 does not store entry 0
        Assert.Equal(0, c.Ack(5, 0)); // not added yet
        Assert.Equal(-1, c.LastAddConfirmed);
        Assert.Equal(1, c.Ack(0, 1));
        Assert.Equal(0, c.Ack(0, 1)); // already confirmed
    }

    [Fact]
    public void A_replaced_bookie_loses_its_acks_and_its_entries_are_listed_for_resending()
    {
        var c = new AddConfirmations(E3Qw2Qa2);
        for (var i = 0; i < 6; i++)
            c.Add();
        c.Ack(0, 0);
        c.Ack(0, 1); // confirms 0
        c.Ack(1, 2);
        c.Ack(2, 2);
        var resend = c.ForgetBookie(2);
        Assert.Equal([1, 2, 4, 5], resend); // unconfirmed entries whose write set includes position 2
        Assert.False(c.HasAck(1, 2));
        Assert.True(c.HasAck(0, 0));
        c.Ack(1, 1);
        Assert.Equal(0, c.LastAddConfirmed);
        c.Ack(1, 2);
        Assert.Equal(1, c.LastAddConfirmed);
    }

    [Fact]
    public void A_window_larger_than_the_initial_ring_confirms_in_order()
    {
        var c = new AddConfirmations(new DistributionSchedule(2, 2, 1), lastAddConfirmed: 99);
        const int Window = 5000;
        for (var i = 0; i < Window; i++)
            Assert.Equal(100 + i, c.Add());
        // Acks arrive newest first; everything confirms at the very last ack.
        for (var e = 100L + Window - 1; e > 100; e--)
            Assert.Equal(0, c.Ack(e, (int)(e % 2)));
        Assert.Equal(Window, c.Ack(100, 0));
        Assert.Equal(100 + Window - 1, c.LastAddConfirmed);
        Assert.Equal(0, c.Pending);
    }
}
