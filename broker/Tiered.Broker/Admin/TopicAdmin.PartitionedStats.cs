using Tiered.Broker.Naming;

namespace Tiered.Broker.Admin;

/// <summary>partitioned-stats (the partitions' stats summed, each listed on request) and partitioned-internalStats.</summary>
public sealed partial class TopicAdmin
{
    public async Task<PartitionedTopicStats> GetPartitionedStatsAsync(TopicName topic, bool perPartition, CancellationToken cancellationToken)
    {
        var partitions = await RequirePartitionedAsync(topic, cancellationToken).ConfigureAwait(false);
        var each = new Dictionary<string, TopicStats>(StringComparer.Ordinal);
        foreach (var partition in Expand(topic, partitions))
            each[partition.ToString()] = StatsOf(await RequireAsync(partition, cancellationToken, oneOfMany: true).ConfigureAwait(false));
        var all = each.Values;
        var rateIn = all.Sum(s => s.MsgRateIn);
        var throughputIn = all.Sum(s => s.MsgThroughputIn);
        return new PartitionedTopicStats
        {
            MsgRateIn = rateIn,
            MsgThroughputIn = throughputIn,
            MsgRateOut = all.Sum(s => s.MsgRateOut),
            MsgThroughputOut = all.Sum(s => s.MsgThroughputOut),
            AverageMsgSize = rateIn > 0 ? throughputIn / rateIn : 0,
            MsgInCounter = all.Sum(s => s.MsgInCounter),
            BytesInCounter = all.Sum(s => s.BytesInCounter),
            MsgOutCounter = all.Sum(s => s.MsgOutCounter),
            BytesOutCounter = all.Sum(s => s.BytesOutCounter),
            StorageSize = all.Sum(s => s.StorageSize),
            BacklogSize = all.Sum(s => s.BacklogSize),
            OffloadedStorageSize = all.Sum(s => s.OffloadedStorageSize),
            BacklogQuotaLimitSize = all.Max(s => s.BacklogQuotaLimitSize),
            BacklogQuotaLimitTime = all.Max(s => s.BacklogQuotaLimitTime),
            OldestBacklogMessageAgeSeconds = all.Max(s => s.OldestBacklogMessageAgeSeconds),
            BacklogQuotaExceeded = all.Any(s => s.BacklogQuotaExceeded),
            Publishers = [.. all.SelectMany(s => s.Publishers)],
            Subscriptions = all.SelectMany(s => s.Subscriptions).GroupBy(s => s.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => Sum([.. g.Select(s => s.Value)]), StringComparer.Ordinal),
            Metadata = new PartitionedTopicMetadata(partitions),
            Partitions = perPartition ? each : [],
        };
    }

    public async Task<PartitionedTopicInternalStats> GetPartitionedInternalStatsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var partitions = await RequirePartitionedAsync(topic, cancellationToken).ConfigureAwait(false);
        var each = new Dictionary<string, InternalTopicStats>(StringComparer.Ordinal);
        foreach (var partition in Expand(topic, partitions))
            each[partition.ToString()] = InternalStatsOf(await RequireAsync(partition, cancellationToken, oneOfMany: true).ConfigureAwait(false));
        return new PartitionedTopicInternalStats { Metadata = new PartitionedTopicMetadata(partitions), Partitions = each };
    }

    private async Task<int> RequirePartitionedAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        return partitions > 0 ? partitions
            : throw new BrokerException(BrokerErrorCode.TopicNotFound, $"{topic} is not a partitioned topic; ask …/stats or …/internalStats of a topic without partitions.");
    }

    /// <summary>One subscription's stats over every partition: sums, the latest timestamps, all consumers.</summary>
    private static SubscriptionStats Sum(IReadOnlyList<SubscriptionStats> parts) => new()
    {
        Type = parts[0].Type,
        MsgRateOut = parts.Sum(s => s.MsgRateOut),
        MsgThroughputOut = parts.Sum(s => s.MsgThroughputOut),
        MsgRateRedeliver = parts.Sum(s => s.MsgRateRedeliver),
        MsgOutCounter = parts.Sum(s => s.MsgOutCounter),
        BytesOutCounter = parts.Sum(s => s.BytesOutCounter),
        MsgBacklog = parts.Sum(s => s.MsgBacklog),
        BacklogEntries = parts.Sum(s => s.BacklogEntries),
        BacklogSize = parts.Sum(s => s.BacklogSize),
        UnackedMessages = parts.Sum(s => s.UnackedMessages),
        MsgDelayed = parts.Sum(s => s.MsgDelayed),
        DelayedMessageIndexSizeInBytes = parts.Sum(s => s.DelayedMessageIndexSizeInBytes),
        LastConsumedTimestamp = parts.Max(s => s.LastConsumedTimestamp),
        LastAckedTimestamp = parts.Max(s => s.LastAckedTimestamp),
        IsDurable = parts.All(s => s.IsDurable),
        MsgNegativelyAckedCounter = parts.Sum(s => s.MsgNegativelyAckedCounter),
        MsgAckTimedOutCounter = parts.Sum(s => s.MsgAckTimedOutCounter),
        MsgDeadLetteredCounter = parts.Sum(s => s.MsgDeadLetteredCounter),
        KeySharedMode = parts[0].KeySharedMode,
        DrainingHashesCount = parts[0].DrainingHashesCount is null ? null : parts.Sum(s => s.DrainingHashesCount ?? 0),
        WaitingEntriesCount = parts[0].WaitingEntriesCount is null ? null : parts.Sum(s => s.WaitingEntriesCount ?? 0),
        Consumers = [.. parts.SelectMany(s => s.Consumers)],
    };
}
