using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Tiered.Broker;
using Tiered.Cluster.Ownership;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Cluster.Balancing;

/// <summary>
/// Every broker publishes its load every <see cref="BrokerClusterOptions.BalanceInterval"/>; one of
/// them — the active member with the lowest silo address, which every broker computes alike from
/// the membership — then plans at most one move (<see cref="BalancePlanner"/>) and makes it: the
/// bundle is released by its owner and taken by the chosen broker (a placement hint to its
/// grain, which Orleans migrates there), and the clients of its topics look them up again. Moves are
/// capped per minute, and a bundle is not moved again before <see cref="BrokerClusterOptions.MinBundleMoveInterval"/>
/// (the times of recent moves are kept in the metadata service, so a new balancing broker honours them).
/// </summary>
public sealed partial class LoadBalancer(BrokerClusterOptions options, BrokerOptions broker, ClusterOwnershipGate gate, OwnershipView view,
    IMetadataStore store, IClusterMembershipService membership, ILocalSiloDetails silo, IGrainFactory grains, BrokerHost host, TimeProvider time,
    ILogger<LoadBalancer> logger) : BackgroundService
{
    /// <summary>Where brokers publish their load (ephemeral keys, one per broker).</summary>
    public const string Reports = "/loadbalance/brokers";

    private readonly LoadReporter _reporter = new(broker.BrokerId, () => host.Topics, time);
    /// <summary>When each recently moved bundle moved (unix ms), kept in the metadata service so that a new balancing broker honours it.</summary>
    public const string RecentMoves = "/loadbalance/recent-moves";

    private readonly Queue<long> _moves = new();
    private MembershipVersion _membershipVersion;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.BalanceInterval <= TimeSpan.Zero)
            return;
        using var timer = new PeriodicTimer(options.BalanceInterval, time);
        while (await NextTickAsync(timer, stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await PublishAsync(stoppingToken).ConfigureAwait(false);
                if (IsLeader() && !gate.IsLeaving)
                    await BalanceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogRoundFailed(logger, e);
            }
        }
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        var owned = gate.Owned;
        var report = _reporter.Report(topic => owned.FirstOrDefault(b => b.Contains(topic.Name)) is { Namespace.Tenant: not null } bundle ? bundle : null);
        var session = await gate.SessionAsync(cancellationToken).ConfigureAwait(false);
        await store.PutAsync($"{Reports}/{broker.BrokerId}", report.ToJson(), sessionId: session.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The active member with the lowest silo address balances; the others only report.</summary>
    private bool IsLeader()
    {
        SiloAddress? lowest = null;
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active && (lowest is null || string.CompareOrdinal(member.SiloAddress.ToParsableString(), lowest.ToParsableString()) < 0))
                lowest = member.SiloAddress;
        }
        return silo.SiloAddress.Equals(lowest);
    }

    private async Task BalanceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        while (_moves.TryPeek(out var at) && time.GetElapsedTime(at, now) > TimeSpan.FromMinutes(1))
            _moves.Dequeue();
        if (_moves.Count >= options.MaxMovesPerMinute)
            return;
        // Membership changed since the last round (a broker joined, left or died): its bundles are still settling
        // (taken over, handed over), so this round only notes the change, and the next one plans on settled counts.
        var version = membership.CurrentSnapshot.Version;
        if (version != _membershipVersion)
        {
            _membershipVersion = version;
            return;
        }
        var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).ToDictionary(m => m.Name, m => m.SiloAddress, StringComparer.Ordinal);
        var reports = new Dictionary<string, LoadReport>(StringComparer.Ordinal);
        foreach (var kv in await store.ListAsync(Reports + "/", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (LoadReport.FromJson(kv.Value.Span) is { } report)
                reports[report.BrokerId] = report;
        }
        var owned = view.All.GroupBy(o => o.Owner.BrokerId).ToDictionary(g => g.Key, g => g.Select(o => o.Bundle.ToString()).ToList(), StringComparer.Ordinal);
        var brokers = active.Keys.Select(id => new BrokerLoad(id, owned.GetValueOrDefault(id) ?? [], reports.GetValueOrDefault(id))).ToList();
        var wallNow = time.GetUtcNow().ToUnixTimeMilliseconds();
        var recent = await store.GetAsync(RecentMoves, cancellationToken: cancellationToken).ConfigureAwait(false);
        var moved = RecentMovesOf(recent, wallNow - (long)options.MinBundleMoveInterval.TotalMilliseconds);
        var move = BalancePlanner.Plan(brokers, bundle => !moved.ContainsKey(bundle));
        if (move is null || !active.TryGetValue(move.To, out var target))
            return;
        LogMoving(logger, move.Bundle, move.From, move.To, move.Reason);
        moved[move.Bundle] = wallNow;
        // Recorded before the move; a balancer that lost its role meanwhile loses this write, and the move waits a round.
        await store.PutAsync(RecentMoves, JsonSerializer.SerializeToUtf8Bytes(moved), recent?.Version ?? -1, cancellationToken: cancellationToken).ConfigureAwait(false);
        _moves.Enqueue(now);
        var grain = grains.GetGrain<IBundleOwnershipGrain>(move.Bundle);
        if (BundleOwnershipGrain.TryParseKey(move.Bundle, out var bundle))
            await gate.CallGrainAsync(bundle, g => g.MoveAsync(target), cancellationToken).ConfigureAwait(false);
        RequestContext.Set(IPlacementDirector.PlacementHintKey, target);
        try
        {
            // Held until the grain has moved, then answered by the new activation, which takes the bundle.
            var owner = await grain.GetOwnerAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            for (var attempt = 1; owner.Refusal is not null && attempt < 10; attempt++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), time, cancellationToken).ConfigureAwait(false);
                owner = await grain.GetOwnerAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            LogMoved(logger, move.Bundle, owner.Refusal is null ? owner.BrokerId : $"nobody yet ({owner.Refusal})");
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
    }

    /// <summary>The moves recorded after <paramref name="since"/> (unix ms), by bundle; empty when none or unreadable.</summary>
    private static Dictionary<string, long> RecentMovesOf(KeyValue? recent, long since)
    {
        Dictionary<string, long>? all = null;
        if (recent is not null)
        {
            try
            {
                all = JsonSerializer.Deserialize<Dictionary<string, long>>(recent.Value.Span);
            }
            catch (JsonException)
            {
            }
        }
        return (all ?? []).Where(kv => kv.Value > since).ToDictionary(StringComparer.Ordinal);
    }

    [LoggerMessage(EventId = 11040, EventName = "MovingBundle", Level = LogLevel.Information, Message = "Load balancing: moving bundle {Bundle} from {From} to {To} ({Reason})")]
    private static partial void LogMoving(ILogger logger, string bundle, string from, string to, string reason);

    [LoggerMessage(EventId = 11041, EventName = "BundleMoved", Level = LogLevel.Information, Message = "Load balancing: bundle {Bundle} is now owned by {Owner}")]
    private static partial void LogMoved(ILogger logger, string bundle, string owner);

    [LoggerMessage(EventId = 11042, EventName = "BalancingRoundFailed", Level = LogLevel.Warning, Message = "Load balancing: a round failed; the next one tries again")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
