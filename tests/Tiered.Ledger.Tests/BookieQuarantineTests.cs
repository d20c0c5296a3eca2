namespace Tiered.Ledger.Tests;

public sealed class BookieQuarantineTests
{
    private static readonly string[] Five = ["10.0.0.1:3181", "10.0.0.2:3181", "10.0.0.3:3181", "10.0.0.4:3181", "10.0.0.5:3181"];

    [Fact]
    public void A_quarantined_bookie_is_left_out_while_enough_others_are_available_and_comes_back_when_its_time_is_up()
    {
        var clock = new StepClock();
        var quarantine = new BookieQuarantine(TimeSpan.FromSeconds(30), clock);
        quarantine.Add(Five[0]);
        for (var i = 0; i < 50; i++)
            Assert.DoesNotContain(Five[0], quarantine.Choose(Five, 4));
        Assert.NotEqual(Five[0], quarantine.Replace([Five[1], Five[2], Five[3]], 0, Five, new HashSet<string>()));

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Contains(Five[0], quarantine.Current());
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Empty(quarantine.Current());
        Assert.Contains(Five[0], quarantine.Choose(Five, 5));
    }

    [Fact]
    public void With_too_few_others_as_few_quarantined_bookies_as_needed_are_chosen()
    {
        var quarantine = new BookieQuarantine(TimeSpan.FromSeconds(30), new StepClock());
        quarantine.Add(Five[0]);
        quarantine.Add(Five[1]);
        quarantine.Add(Five[2]);
        for (var i = 0; i < 20; i++)
        {
            var chosen = quarantine.Choose(Five, 3);
            Assert.Equal(3, chosen.Distinct().Count());
            Assert.Contains(Five[3], chosen);
            Assert.Contains(Five[4], chosen);
        }
        // A replacement is still found among quarantined bookies, but never an excluded one.
        Assert.Equal(Five[2], quarantine.Replace([Five[3], Five[4], Five[0]], 2, Five, new HashSet<string> { Five[1] }));
        var tooFew = Assert.Throws<InsufficientBookiesException>(() => quarantine.Choose(Five, 6));
        Assert.Equal((6, 5), (tooFew.Needed, tooFew.Eligible));
    }

    [Fact]
    public void A_zero_quarantine_time_turns_the_quarantine_off()
    {
        var quarantine = new BookieQuarantine(TimeSpan.Zero, new StepClock());
        quarantine.Add(Five[0]);
        Assert.Empty(quarantine.Current());
        Assert.Throws<ArgumentException>(() => new LedgerClientOptions { BookieQuarantineTime = TimeSpan.FromSeconds(-1) }.Validate());
    }

    /// <summary>A clock the test moves by hand.</summary>
    private sealed class StepClock : TimeProvider
    {
        private long _ticks = TimeSpan.TicksPerDay;

        public override long GetTimestamp() => _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
