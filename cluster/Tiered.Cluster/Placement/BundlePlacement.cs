using System.IO.Hashing;
using System.Text;
using Microsoft.Extensions.Logging;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Tiered.Cluster.Ownership;

namespace Tiered.Cluster.Placement;

/// <summary>Places ownership grains on the broker that owns the fewest bundles (<see cref="BundlePlacementDirector"/>).</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class BundlePlacementStrategy : PlacementStrategy
{
    public static readonly BundlePlacementStrategy Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class BundlePlacementAttribute() : PlacementAttribute(BundlePlacementStrategy.Instance);

/// <summary>
/// Chooses the broker for a bundle that nobody owns: among the silos that can host the grain, the
/// one whose broker owns the fewest bundles (from the ownership records every broker sees), counting
/// the placements this director made in the last seconds (their records may not be visible yet), so
/// that a burst of lookups spreads instead of landing on one broker. A broker that is handing its
/// bundles over (stopping), or that just gave this bundle up, is not chosen while another can be. Ties go by the bundle's hash, so
/// that brokers placing at once tend to agree.
/// </summary>
public sealed class BundlePlacementDirector(OwnershipView view, IClusterMembershipService membership, ClusterOwnershipGate gate, ILogger<BundlePlacementDirector> logger)
    : IPlacementDirector
{
    private static readonly TimeSpan RecentWindow = TimeSpan.FromSeconds(5);
    private readonly Lock _sync = new();
    private readonly Queue<(long At, string Broker)> _recent = new();

    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        // The load balancer moving a bundle names the broker that is to take it.
        if (target.RequestContextData is { } data && data.TryGetValue(IPlacementDirector.PlacementHintKey, out var hint)
            && hint is SiloAddress hinted && silos.Contains(hinted))
            return Task.FromResult(hinted);
        if (silos.Length > 1 && (gate.IsLeaving || gate.ReleasedRecently(target.GrainIdentity.Key.ToString())))
            silos = [.. silos.Where(s => !s.Equals(context.LocalSilo))];
        var snapshot = membership.CurrentSnapshot;
        var counts = view.CountByBroker();
        var now = Environment.TickCount64;
        lock (_sync)
        {
            while (_recent.TryPeek(out var oldest) && now - oldest.At > RecentWindow.TotalMilliseconds)
                _recent.Dequeue();
            foreach (var (_, broker) in _recent)
                counts[broker] = counts.GetValueOrDefault(broker) + 1;
        }
        var key = target.GrainIdentity.Key.ToString();
        var tie = StableHash(key);
        SiloAddress? best = null;
        string bestName = "";
        var bestLoad = int.MaxValue;
        var bestTie = uint.MaxValue;
        foreach (var silo in silos)
        {
            var name = snapshot.Members.TryGetValue(silo, out var member) ? member.Name : silo.ToString();
            var load = counts.GetValueOrDefault(name);
            var order = StableHash(name) ^ tie;
            if (load < bestLoad || (load == bestLoad && order < bestTie))
                (best, bestName, bestLoad, bestTie) = (silo, name, load, order);
        }
        if (best is null)
            throw new OrleansException("No broker of the cluster can own a bundle right now (no compatible silo).");
        lock (_sync)
            _recent.Enqueue((now, bestName));
        ClusterLog.BundlePlaced(logger, key, bestName, bestLoad);
        return Task.FromResult(best);
    }

    /// <summary>The same in every process (string.GetHashCode is randomized per process).</summary>
    private static uint StableHash(string text) => XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(text));
}
