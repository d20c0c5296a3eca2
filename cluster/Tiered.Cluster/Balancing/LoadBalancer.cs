using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Tiered.Broker;
using Tiered.Cluster.Ownership;
using Tiered.Metadata;

namespace Tiered.Cluster.Balancing;

/// <summary>
/// Every broker publishes its load every <see cref="BrokerClusterOptions.BalanceInterval"/>; one of
/// them — the active member with the lowest silo address, which every broker computes alike from
/// the membership — then plans at most one move (<see cref="BalancePlanner"/>) and makes it: the
/// bundle is released by its owner and taken by the chosen broker (a placement hint to its
/// grain), and the clients of its topics look them up again. Moves are capped per minute, and a
/// bundle is not moved again before <see cref="BrokerClusterOptions.MinBundleMoveInterval"/>.
/// </summary>
public sealed partial class LoadBalancer(BrokerClusterOptions options, BrokerOptions broker, ClusterOwnershipGate gate, OwnershipView view,
    IMetadataStore store, IClusterMembershipService membership, ILocalSiloDetails silo, IGrainFactory grains, BrokerHost host, TimeProvider time,
    ILogger<LoadBalancer> logger) : BackgroundService
{
    /// <summary>Where brokers publish their load (ephemeral keys, one per broker).</summary>
    public const string Reports = "/loadbalance/brokers";

    private readonly LoadReporter _reporter = new(broker.BrokerId, () => host.Topics, time);
    private readonly Dictionary<string, long> _lastMoved = new(StringComparer.Ordinal);
    private readonly Queue<long> _moves = new();

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
        var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).ToDictionary(m => m.Name, m => m.SiloAddress, StringComparer.Ordinal);
        var reports = new Dictionary<string, LoadReport>(StringComparer.Ordinal);
        foreach (var kv in await store.ListAsync(Reports + "/", cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (LoadReport.FromJson(kv.Value.Span) is { } report)
                reports[report.BrokerId] = report;
        }
        var owned = view.All.GroupBy(o => o.Owner.BrokerId).ToDictionary(g => g.Key, g => g.Select(o => o.Bundle.ToString()).ToList(), StringComparer.Ordinal);
        var brokers = active.Keys.Select(id => new BrokerLoad(id, owned.GetValueOrDefault(id) ?? [], reports.GetValueOrDefault(id))).ToList();
        var move = BalancePlanner.Plan(brokers, bundle => !_lastMoved.TryGetValue(bundle, out var moved) || time.GetElapsedTime(moved, now) >= options.MinBundleMoveInterval);
        if (move is null || !active.TryGetValue(move.To, out var target))
            return;
        LogMoving(logger, move.Bundle, move.From, move.To, move.Reason);
        _lastMoved[move.Bundle] = now;
        _moves.Enqueue(now);
        var grain = grains.GetGrain<IBundleOwnershipGrain>(move.Bundle);
        await grain.UnloadAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        RequestContext.Set(IPlacementDirector.PlacementHintKey, target);
        try
        {
            // The released activation refuses until it is gone; then the hint places the new one on the target.
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

    [LoggerMessage(EventId = 11040, EventName = "MovingBundle", Level = LogLevel.Information, Message = "Load balancing: moving bundle {Bundle} from {From} to {To} ({Reason})")]
    private static partial void LogMoving(ILogger logger, string bundle, string from, string to, string reason);

    [LoggerMessage(EventId = 11041, EventName = "BundleMoved", Level = LogLevel.Information, Message = "Load balancing: bundle {Bundle} is now owned by {Owner}")]
    private static partial void LogMoved(ILogger logger, string bundle, string owner);

    [LoggerMessage(EventId = 11042, EventName = "BalancingRoundFailed", Level = LogLevel.Warning, Message = "Load balancing: a round failed; the next one tries again")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception);
}
