using Tiered.Broker.Admin;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>
/// Backlog quotas (the namespace policy backlog_quota_map), checked on their own timer
/// (<see cref="BrokerOptions.BacklogQuotaCheckInterval"/>) rather than per send: a check measures each loaded topic's
/// backlog from positions and ledger sizes (and, with a message_age quota, reads the one oldest unacknowledged entry when
/// it changed), then evicts (consumer_backlog_eviction) or sets the flag sends read (producer_request_hold,
/// producer_exception). A held producer resumes at the first check that finds the backlog back under its quota.
/// </summary>
public sealed partial class TopicRegistry
{
    private async Task BacklogQuotaLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.BacklogQuotaCheckInterval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                await CheckBacklogQuotasAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Applies every loaded topic's backlog quotas once (the timer does it; tests may call it).</summary>
    public async Task CheckBacklogQuotasAsync(CancellationToken cancellationToken)
    {
        foreach (var topic in LoadedTopics)
        {
            try
            {
                var policies = await Policies.GetNamespaceAsync(topic.Name.Namespace, cancellationToken).ConfigureAwait(false);
                await ApplyBacklogQuotasAsync(topic, policies?.BacklogQuotaMap, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                BrokerLog.BacklogQuotaCheckFailed(_logger, topic.Name.ToString(), e);
            }
        }
    }

    private async Task ApplyBacklogQuotasAsync(Topic topic, IReadOnlyDictionary<string, BacklogQuota>? quotas, CancellationToken cancellationToken)
    {
        var size = quotas?.GetValueOrDefault(BacklogQuotas.DestinationStorage) is { } s && LimitSizeOf(s) >= 0 ? s : null;
        var age = quotas?.GetValueOrDefault(BacklogQuotas.MessageAge) is { LimitTime: >= 0 } a ? a : null;
        if (size is null && age is null)
        {
            var had = topic.BacklogQuotaBreach;
            // Nothing to undo (nothing is held without a breach): most topics, every check.
            if (had is null && ReferenceEquals(topic.BacklogQuotaStatus, BacklogQuotaStatus.None))
                return;
            var freed = topic.ApplyBacklogQuota(BacklogQuotaStatus.None, null);
            if (had is not null)
                BrokerLog.BacklogQuotaCleared(_logger, topic.Name.ToString(), freed);
            return;
        }
        var limitSize = size is null ? -1 : LimitSizeOf(size);
        var sizeOver = false;
        if (size is not null)
        {
            sizeOver = topic.EstimatedBacklogBytes() > limitSize;
            if (sizeOver && size.Policy == BacklogQuotas.ConsumerBacklogEviction)
            {
                await EvictBySizeAsync(topic, limitSize, cancellationToken).ConfigureAwait(false);
                sizeOver = false;
            }
        }
        long ageMs = -1;
        var ageOver = false;
        if (age is not null)
        {
            ageMs = await topic.OldestBacklogAgeMsAsync(cancellationToken).ConfigureAwait(false);
            ageOver = ageMs > age.LimitTime * 1000;
            if (ageOver && age.Policy == BacklogQuotas.ConsumerBacklogEviction)
            {
                await EvictByAgeAsync(topic, TimeSpan.FromSeconds(age.LimitTime), cancellationToken).ConfigureAwait(false);
                ageMs = await topic.OldestBacklogAgeMsAsync(cancellationToken).ConfigureAwait(false);
                ageOver = false;
            }
        }
        BacklogQuotaBreach? breach = null;
        if (sizeOver)
        {
            var backlog = topic.EstimatedBacklogBytes();
            breach = Breach(size!, BacklogQuotas.DestinationStorage,
                $"the backlog of {topic.Name} is {backlog} bytes, {backlog - limitSize} over its namespace's destination_storage quota of {limitSize} bytes");
        }
        if (ageOver && (breach is null || (breach.Hold && age!.Policy == BacklogQuotas.ProducerException)))
        {
            breach = Breach(age!, BacklogQuotas.MessageAge,
                $"the oldest unacknowledged message of {topic.Name} is {ageMs / 1000} s old, {ageMs / 1000 - age!.LimitTime} s over its namespace's message_age quota of {age.LimitTime} s");
        }
        var status = new BacklogQuotaStatus(limitSize, age?.LimitTime ?? -1, ageMs < 0 ? -1 : ageMs / 1000, ageOver);
        var was = topic.BacklogQuotaBreach;
        var released = topic.ApplyBacklogQuota(status, breach);
        if (breach is not null && (was is null || was.Type != breach.Type || was.Policy != breach.Policy))
            BrokerLog.BacklogQuotaExceeded(_logger, topic.Name.ToString(), breach.Message, breach.Policy);
        else if (breach is null && was is not null)
            BrokerLog.BacklogQuotaCleared(_logger, topic.Name.ToString(), released);
    }

    /// <summary>What a send meets: the reason, and what to do about it.</summary>
    private static BacklogQuotaBreach Breach(BacklogQuota quota, string type, string reason)
        => quota.Policy == BacklogQuotas.ProducerRequestHold
            ? new BacklogQuotaBreach(type, quota.Policy, Hold: true, $"Held: {reason}.")
            : new BacklogQuotaBreach(type, quota.Policy, Hold: false,
                $"Not stored: {reason} (policy producer_exception). Send again once consumers have acknowledged enough, "
                + "or ask an administrator to raise the quota (POST /admin/v2/namespaces/{tenant}/{namespace}/backlogQuota) or to skip or clear the backlog.");

    /// <summary>The size limit in bytes (older tools send it as <c>limit</c>); -1 when not set.</summary>
    private static long LimitSizeOf(BacklogQuota quota) => quota.LimitSize >= 0 ? quota.LimitSize : quota.Limit ?? -1;

    /// <summary>Moves every durable subscription behind the size target up to it; those ahead of it are left alone.</summary>
    private async Task EvictBySizeAsync(Topic topic, long limitBytes, CancellationToken cancellationToken)
    {
        if (topic.SizeEvictionTarget(limitBytes) is not { } target)
            return;
        foreach (var subscription in topic.Subscriptions)
        {
            if (!subscription.IsDurable || subscription.Cursor.MarkDeletePosition >= target)
                continue;
            await subscription.Cursor.AckCumulativeAsync(new AckPosition(target), cancellationToken).ConfigureAwait(false);
            BrokerLog.BacklogEvicted(_logger, topic.Name.ToString(), subscription.Name, target.ToString(), BacklogQuotas.DestinationStorage);
        }
    }

    /// <summary>Acknowledges, on every durable subscription, the messages published longer than <paramref name="limit"/> ago.</summary>
    private async Task EvictByAgeAsync(Topic topic, TimeSpan limit, CancellationToken cancellationToken)
    {
        foreach (var subscription in topic.Subscriptions)
        {
            if (!subscription.IsDurable)
                continue;
            if (await AckOlderThanAsync(subscription, limit, cancellationToken).ConfigureAwait(false) is { } position)
                BrokerLog.BacklogEvicted(_logger, topic.Name.ToString(), subscription.Name, position.ToString(), BacklogQuotas.MessageAge);
        }
    }
}
