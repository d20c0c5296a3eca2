using Tiered.Broker.Admin;
using Tiered.Broker.Entries;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Broker.Subscriptions;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

public sealed partial class TopicRegistry
{
    private const int MaxEntriesExpiredPerRun = 10_000;

    private async Task MaintenanceLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.MaintenanceInterval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                await RunMaintenanceAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Applies each loaded topic's policies (de-duplication on or off, message TTL, then retention, then offload) and empties idle entry caches.</summary>
    public async Task RunMaintenanceAsync(CancellationToken cancellationToken)
    {
        var policies = new Dictionary<NamespaceName, NamespacePolicies?>();
        foreach (var topic in LoadedTopics)
        {
            try
            {
                // A topic whose bundle this broker no longer owns (lost without the unload reaching it) goes.
                if (await Ownership.CheckAsync(topic.Name, cancellationToken).ConfigureAwait(false) is { State: not OwnershipState.Local } ownership)
                {
                    await UnloadAsync(topic.Name, ownership.Owner).ConfigureAwait(false);
                    continue;
                }
                await topic.SetDeduplicationAsync(await Policies.IsDeduplicationEnabledAsync(topic.Name, _options.DeduplicationEnabled, cancellationToken).ConfigureAwait(false),
                    cancellationToken).ConfigureAwait(false);
                await ApplyReplicationAsync(topic, cancellationToken).ConfigureAwait(false);
                if (!policies.TryGetValue(topic.Name.Namespace, out var policy))
                    policies[topic.Name.Namespace] = policy = await Policies.GetNamespaceAsync(topic.Name.Namespace, cancellationToken).ConfigureAwait(false);
                if (policy?.MessageTtlInSeconds is > 0 and var ttl)
                {
                    foreach (var subscription in topic.Subscriptions)
                    {
                        if (subscription.IsDurable)
                            await ExpireAsync(subscription, TimeSpan.FromSeconds(ttl), cancellationToken).ConfigureAwait(false);
                    }
                }
                await topic.SnapshotDeduplicationAsync().ConfigureAwait(false);
                await topic.Ledger.TrimAsync(RetentionOf(policy), cancellationToken).ConfigureAwait(false);
                await OffloadByPolicyAsync(topic, policy, cancellationToken).ConfigureAwait(false);
                topic.Ledger.EvictCache();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                BrokerLog.MaintenanceFailed(_logger, topic.Name.ToString(), e);
            }
        }
    }

    private RetentionPolicy RetentionOf(NamespacePolicies? policy)
        => policy?.RetentionPolicies is { } r
            ? new RetentionPolicy(r.RetentionTimeInMinutes < 0 ? TimeSpan.FromMilliseconds(-1) : TimeSpan.FromMinutes(r.RetentionTimeInMinutes),
                // Checked: a size that does not fit in bytes must fail this topic's pass, not wrap to 0 ("keep nothing").
                r.RetentionSizeInMB < 0 ? -1 : checked(r.RetentionSizeInMB * 1024 * 1024))
            : _options.DefaultRetention;

    /// <summary>Acknowledges the subscription's oldest messages published longer than <paramref name="ttl"/> ago (Pulsar's message TTL).</summary>
    private async Task ExpireAsync(Subscription subscription, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (await AckOlderThanAsync(subscription, ttl, cancellationToken).ConfigureAwait(false) is { } position)
            BrokerLog.MessagesExpired(_logger, subscription.Topic, subscription.Name, position.ToString());
    }

    /// <summary>Acknowledges the subscription's oldest messages published longer than <paramref name="age"/> ago; the last one acknowledged, or null.</summary>
    private async Task<Position?> AckOlderThanAsync(Subscription subscription, TimeSpan age, CancellationToken cancellationToken)
    {
        var cutoff = Time.GetUtcNow().ToUnixTimeMilliseconds() - (long)age.TotalMilliseconds;
        var ledger = subscription.Cursor.Ledger;
        var next = ledger.GetNextPosition(subscription.Cursor.MarkDeletePosition);
        Position? lastExpired = null;
        for (var scanned = 0; scanned < MaxEntriesExpiredPerRun;)
        {
            var entries = await ledger.ReadEntriesAsync(next, 500, cancellationToken).ConfigureAwait(false);
            var expired = 0;
            while (expired < entries.Count && BatchHeader.TryRead(entries[expired].Data.Span, out var header, out _) && header.PublishTimeMs < cutoff)
                lastExpired = entries[expired++].Position;
            if (expired < 500)
                break;
            scanned += expired;
            next = ledger.GetNextPosition(entries[^1].Position);
        }
        if (lastExpired is { } position)
            await subscription.Cursor.AckCumulativeAsync(new AckPosition(position), cancellationToken).ConfigureAwait(false);
        return lastExpired;
    }
}
