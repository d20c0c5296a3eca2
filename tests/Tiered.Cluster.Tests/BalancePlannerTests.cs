using Tiered.Cluster.Balancing;
using Xunit;

namespace Tiered.Cluster.Tests;

/// <summary>The balancer's decisions, one round at a time: fair bundle counts first, then rates, never a storm or a swing back.</summary>
public sealed class BalancePlannerTests
{
    private static BrokerLoad Broker(string id, params (string Bundle, double Rate)[] bundles)
        => new(id, [.. bundles.Select(b => b.Bundle)], new LoadReport
        {
            BrokerId = id,
            MsgRateIn = bundles.Sum(b => b.Rate),
            Bundles = bundles.ToDictionary(b => b.Bundle, b => new BundleLoad(b.Rate, 0, 1)),
        });

    [Fact]
    public void A_broker_that_joined_gets_the_least_busy_bundle_of_the_broker_with_the_most()
    {
        var move = BalancePlanner.Plan(
            [Broker("a", ("a1", 10), ("a2", 5), ("a3", 50), ("a4", 7)), Broker("b", ("b1", 1), ("b2", 1), ("b3", 1)), Broker("new")],
            _ => true);

        Assert.NotNull(move);
        Assert.Equal(("a2", "a", "new"), (move.Bundle, move.From, move.To));
        Assert.Contains("bundle count", move.Reason);
    }

    [Fact]
    public void Counts_within_one_of_each_other_and_rates_near_the_average_leave_everything_where_it_is()
    {
        Assert.Null(BalancePlanner.Plan([Broker("a", ("a1", 300), ("a2", 300)), Broker("b", ("b1", 500))], _ => true));
        Assert.Null(BalancePlanner.Plan([Broker("a", ("a1", 1))], _ => true));
        // Busy compared with the other, but nothing is busy: below the rate worth balancing.
        Assert.Null(BalancePlanner.Plan([Broker("a", ("a1", 40), ("a2", 40)), Broker("b", ("b1", 1), ("b2", 1))], _ => true));
    }

    [Fact]
    public void An_overloaded_broker_sheds_the_busiest_bundle_that_does_not_overshoot()
    {
        // a: 1,000 msg/s, b: 100; the gap is 900, half of it 450: the 400 bundle moves, not the 500 one.
        var move = BalancePlanner.Plan(
            [Broker("a", ("a1", 500), ("a2", 400), ("a3", 100)), Broker("b", ("b1", 50), ("b2", 50))],
            _ => true);

        Assert.NotNull(move);
        Assert.Equal(("a2", "a", "b"), (move.Bundle, move.From, move.To));
        Assert.Contains("message rate", move.Reason);
    }

    [Fact]
    public void A_bundle_moved_recently_stays_and_a_broker_with_one_bundle_keeps_it()
    {
        Assert.Null(BalancePlanner.Plan(
            [Broker("a", ("a1", 500), ("a2", 400), ("a3", 100)), Broker("b", ("b1", 50), ("b2", 50))],
            bundle => bundle is not ("a1" or "a2" or "a3")));
        Assert.Null(BalancePlanner.Plan([Broker("a", ("a1", 5_000)), Broker("b", ("b1", 10))], _ => true));
    }

    [Fact]
    public void Repeated_rounds_converge_without_moving_any_bundle_twice()
    {
        var owners = new Dictionary<string, string>();
        for (var i = 0; i < 12; i++)
            owners[$"x{i}"] = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c";
        var moved = new HashSet<string>();
        for (var round = 0; round < 20; round++)
        {
            var brokers = new[] { "a", "b", "c", "d" }
                .Select(id => Broker(id, [.. owners.Where(o => o.Value == id).Select(o => (o.Key, 100.0))])).ToList();
            if (BalancePlanner.Plan(brokers, b => !moved.Contains(b)) is not { } move)
                break;
            Assert.True(moved.Add(move.Bundle), $"{move.Bundle} moved twice");
            owners[move.Bundle] = move.To;
        }
        Assert.Equal(3, moved.Count);
        Assert.All(new[] { "a", "b", "c", "d" }, id => Assert.Equal(3, owners.Values.Count(o => o == id)));
    }
}
