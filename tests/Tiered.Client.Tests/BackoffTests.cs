using Tiered.Client.Sessions;

namespace Tiered.Client.Tests;

public sealed class BackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(5);

    /// <summary>A random source that answers the given values in turn (the last one for ever).</summary>
    internal sealed class ScriptedRandom(params double[] values) : Random
    {
        private int _next;

        public override double NextDouble() => values[Math.Min(_next++, values.Length - 1)];
    }

    [Fact]
    public void Each_wait_lies_between_the_initial_backoff_and_three_times_the_previous_one_and_never_above_the_maximum()
    {
        var backoff = new Backoff(Initial, Max, new Random(12345));
        var previous = Initial;
        for (var i = 0; i < 10_000; i++)
        {
            var wait = backoff.Next();
            Assert.InRange(wait, Initial, Max);
            Assert.True(wait <= previous * 3 || wait <= Initial, $"wait {wait} after {previous}");
            previous = wait;
        }
    }

    [Fact]
    public void The_lowest_draws_wait_the_initial_backoff_and_the_highest_grow_threefold_up_to_the_cap()
    {
        var lowest = new Backoff(Initial, Max, new ScriptedRandom(0));
        Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal(Initial, lowest.Next()));

        var highest = new Backoff(Initial, Max, new ScriptedRandom(1));
        Assert.Equal([300, 900, 2700, 5000, 5000], Enumerable.Range(0, 5).Select(_ => highest.Next().TotalMilliseconds));
    }

    [Fact]
    public void A_reset_after_a_success_starts_again_from_the_initial_backoff()
    {
        var backoff = new Backoff(Initial, Max, new ScriptedRandom(1));
        for (var i = 0; i < 6; i++)
            backoff.Next();
        Assert.Equal(Max, backoff.Next());
        backoff.Reset();
        Assert.Equal(TimeSpan.FromMilliseconds(300), backoff.Next());
    }

    [Fact]
    public void Clients_failing_at_the_same_instant_wait_different_times()
    {
        var random = new Random(7);
        var firstWaits = Enumerable.Range(0, 100).Select(_ => new Backoff(Initial, Max, random).Next()).ToList();
        Assert.True(firstWaits.Distinct().Count() > 90, "the waits of 100 clients should spread out");
        Assert.All(firstWaits, w => Assert.InRange(w, Initial, Initial * 3));
    }
}
