using System.Globalization;

namespace Tiered.Cluster.Balancing;

/// <summary>One broker as the balancer sees it: the bundles it owns and its last load report (null: none yet).</summary>
public sealed record BrokerLoad(string BrokerId, IReadOnlyList<string> Bundles, LoadReport? Report)
{
    public double MsgRate => Report?.MsgRate ?? 0;

    public double RateOf(string bundle) => Report?.Bundles.GetValueOrDefault(bundle)?.MsgRate ?? 0;
}

/// <summary>A bundle to move, where to, and why (logged).</summary>
public sealed record BundleMove(string Bundle, string From, string To, string Reason);

/// <summary>
/// Decides at most one bundle move per round, so that the cluster converges without storms:
/// <list type="number">
/// <item>Bundle count first: when the broker with the most bundles has at least two more than the one
/// with the fewest (a broker that joined has none), its least busy movable bundle goes to the latter.</item>
/// <item>Then message rate: when the busiest broker's rate is at least <see cref="OverloadFactor"/> times
/// the average (and the average is worth balancing), one of its bundles goes to the least busy broker — the
/// busiest bundle that moves at most half the gap, so the move cannot overshoot and start a swing back.</item>
/// </list>
/// A bundle moved less than the minimum interval ago is not moved again (no ping-pong), a broker
/// with one bundle keeps it, and the caller caps the moves per minute.
/// </summary>
public static class BalancePlanner
{
    /// <summary>How far above the average a broker's message rate must be before it sheds a bundle.</summary>
    public const double OverloadFactor = 1.5;

    /// <summary>Below this average rate (messages per second per broker) rates are not balanced: nothing is busy.</summary>
    public const double MinRateToBalance = 100;

    public static BundleMove? Plan(IReadOnlyList<BrokerLoad> brokers, Func<string, bool> movable)
    {
        if (brokers.Count < 2)
            return null;
        var byCount = brokers.OrderBy(b => b.Bundles.Count).ThenBy(b => b.MsgRate).ThenBy(b => b.BrokerId, StringComparer.Ordinal).ToList();
        var (fewest, most) = (byCount[0], byCount[^1]);
        var average = brokers.Average(b => b.Bundles.Count);
        if (most.Bundles.Count - fewest.Bundles.Count >= 2
            && most.Bundles.Where(movable).OrderBy(most.RateOf).ThenBy(b => b, StringComparer.Ordinal).FirstOrDefault() is { } coldest)
        {
            return new BundleMove(coldest, most.BrokerId, fewest.BrokerId, string.Create(CultureInfo.InvariantCulture,
                $"bundle count: {most.BrokerId} owns {most.Bundles.Count}, {fewest.BrokerId} owns {fewest.Bundles.Count} (average {average:0.#}); moving its least busy bundle ({most.RateOf(coldest):0} msg/s)"));
        }
        var byRate = brokers.OrderBy(b => b.MsgRate).ThenBy(b => b.BrokerId, StringComparer.Ordinal).ToList();
        var (idlest, busiest) = (byRate[0], byRate[^1]);
        var averageRate = brokers.Average(b => b.MsgRate);
        if (averageRate < MinRateToBalance || busiest.MsgRate < averageRate * OverloadFactor || busiest.Bundles.Count < 2)
            return null;
        var halfGap = (busiest.MsgRate - idlest.MsgRate) / 2;
        var candidates = busiest.Bundles.Where(movable).Where(b => busiest.RateOf(b) > 0).ToList();
        var pick = candidates.Where(b => busiest.RateOf(b) <= halfGap).OrderByDescending(busiest.RateOf).FirstOrDefault()
            ?? candidates.OrderBy(busiest.RateOf).FirstOrDefault();
        if (pick is null || busiest.RateOf(pick) >= busiest.MsgRate)
            return null;
        return new BundleMove(pick, busiest.BrokerId, idlest.BrokerId, string.Create(CultureInfo.InvariantCulture,
            $"message rate: {busiest.BrokerId} serves {busiest.MsgRate:0} msg/s, {OverloadFactor}× over the average {averageRate:0}; {idlest.BrokerId} serves {idlest.MsgRate:0}; moving a bundle of {busiest.RateOf(pick):0} msg/s"));
    }
}
