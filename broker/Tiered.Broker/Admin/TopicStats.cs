namespace Tiered.Broker.Admin;

// GET …/stats, …/partitioned-stats, …/internalStats and …/partitioned-internalStats, in
// Pulsar's JSON shapes (camelCase). Rates are per second over the time since the previous stats
// call (at least one second); docs/admin-api.md says what each number means.

/// <summary>The stats of a topic, or of a partitioned topic with its partitions' stats summed.</summary>
public record TopicStats
{
    public double MsgRateIn { get; init; }
    public double MsgThroughputIn { get; init; }
    public double MsgRateOut { get; init; }
    public double MsgThroughputOut { get; init; }

    /// <summary>Bytes per message published over the rate period (msgThroughputIn / msgRateIn); 0 when nothing was published.</summary>
    public double AverageMsgSize { get; init; }

    public long MsgInCounter { get; init; }
    public long BytesInCounter { get; init; }
    public long MsgOutCounter { get; init; }
    public long BytesOutCounter { get; init; }

    /// <summary>Bytes the bookies hold for the topic: every ledger except those offloaded whose bookie copy is deleted.</summary>
    public long StorageSize { get; init; }

    /// <summary>Estimated bytes after the oldest durable subscription's mark-delete position.</summary>
    public long BacklogSize { get; init; }

    /// <summary>Bytes of the ledgers offloaded to the object store (whether or not the bookies still hold them).</summary>
    public long OffloadedStorageSize { get; init; }

    /// <summary>The namespace's destination_storage backlog quota in bytes; -1 when none is set.</summary>
    public long BacklogQuotaLimitSize { get; init; } = -1;

    /// <summary>The namespace's message_age backlog quota in seconds; -1 when none is set.</summary>
    public long BacklogQuotaLimitTime { get; init; } = -1;

    /// <summary>Age of the oldest message the slowest durable subscription has not acknowledged, at the last quota check; -1 when not measured (no message_age quota).</summary>
    public long OldestBacklogMessageAgeSeconds { get; init; } = -1;

    /// <summary>Whether the backlog is over a quota: <see cref="BacklogSize"/> over the size limit, or the oldest message over the time limit at the last check.</summary>
    public bool BacklogQuotaExceeded { get; init; }

    public List<PublisherStats> Publishers { get; init; } = [];
    public Dictionary<string, SubscriptionStats> Subscriptions { get; init; } = [];

    /// <summary>Geo-replication, per remote cluster this broker replicates the topic to.</summary>
    public Dictionary<string, ReplicatorStats> Replication { get; init; } = [];
}

/// <summary>One topic's replication to one remote cluster (Pulsar's ReplicatorStats, plus why it failed).</summary>
public sealed record ReplicatorStats
{
    public double MsgRateOut { get; init; }
    public double MsgThroughputOut { get; init; }
    public long MsgOutCounter { get; init; }
    public long BytesOutCounter { get; init; }

    /// <summary>Entries not yet acknowledged by the remote cluster: what this cluster would lose with its disks.</summary>
    public long ReplicationBacklog { get; init; }

    /// <summary>Whether a stream to the remote owner is open.</summary>
    public bool Connected { get; init; }

    /// <summary>Age of the oldest message the remote has not acknowledged (0 when none is pending).</summary>
    public double ReplicationDelayInSeconds { get; init; }

    /// <summary>The remote refused a message for good: replication of this topic to it stopped (see <see cref="LastError"/>).</summary>
    public bool Stopped { get; init; }

    /// <summary>Why the last attempt failed; null while all is well.</summary>
    public string? LastError { get; init; }
}

/// <summary>GET …/partitioned-stats: the partitions' stats summed, and each partition's with ?perPartition=true.</summary>
public sealed record PartitionedTopicStats : TopicStats
{
    public PartitionedTopicMetadata Metadata { get; init; } = new(0);
    public Dictionary<string, TopicStats> Partitions { get; init; } = [];
}

/// <summary>GET …/partitioned-internalStats: each partition's internal stats.</summary>
public sealed record PartitionedTopicInternalStats
{
    public PartitionedTopicMetadata Metadata { get; init; } = new(0);
    public Dictionary<string, InternalTopicStats> Partitions { get; init; } = [];
}

public sealed record PublisherStats
{
    public string ProducerName { get; init; } = "";
    public double MsgRateIn { get; init; }
    public double MsgThroughputIn { get; init; }
    public double AverageMsgSize { get; init; }
    public long MsgInCounter { get; init; }
    public long BytesInCounter { get; init; }
    public string? Address { get; init; }
    public string? ConnectedSince { get; init; }
}

public sealed record SubscriptionStats
{
    public string Type { get; init; } = "Exclusive";
    public double MsgRateOut { get; init; }
    public double MsgThroughputOut { get; init; }

    /// <summary>Messages per second delivered again (after a consumer left or asked for redelivery).</summary>
    public double MsgRateRedeliver { get; init; }

    public long MsgOutCounter { get; init; }
    public long BytesOutCounter { get; init; }

    /// <summary>Messages not acknowledged after the mark-delete position; see docs/admin-api.md for batches stored before the topic was loaded.</summary>
    public long MsgBacklog { get; init; }

    /// <summary>Entries (batches) not acknowledged after the mark-delete position.</summary>
    public long BacklogEntries { get; init; }

    /// <summary>Estimated bytes of the unacknowledged entries.</summary>
    public long BacklogSize { get; init; }

    /// <summary>Messages delivered to connected consumers and not acknowledged.</summary>
    public long UnackedMessages { get; init; }

    /// <summary>Messages held until their deliver_at_ms (Shared and Key_Shared subscriptions; part of the backlog).</summary>
    public long MsgDelayed { get; init; }

    /// <summary>Memory of the delayed-delivery index, by its own accounting.</summary>
    public long DelayedMessageIndexSizeInBytes { get; init; }

    /// <summary>When messages were last delivered / acknowledged, ms since the epoch; 0 when not since the topic was loaded.</summary>
    public long LastConsumedTimestamp { get; init; }
    public long LastAckedTimestamp { get; init; }

    public bool IsDurable { get; init; } = true;

    /// <summary>Its position is kept in step across the namespace's clusters (replicated subscription state).</summary>
    public bool IsReplicated { get; init; }

    // Negative acks, ack timeout, dead-letter topic (docs/messaging.md): counters since the subscription was loaded.
    public long MsgNegativelyAckedCounter { get; init; }
    public long MsgAckTimedOutCounter { get; init; }
    public long MsgDeadLetteredCounter { get; init; }
    /// <summary>Key_Shared only: <c>AUTO_SPLIT</c> or <c>STICKY</c>.</summary>
    public string? KeySharedMode { get; init; }

    /// <summary>Key_Shared only: hashes whose messages are still unacknowledged at a consumer that no longer owns them (their new owner waits).</summary>
    public int? DrainingHashesCount { get; init; }

    /// <summary>Key_Shared only: entries waiting to be delivered (returned, or held back until their hash is free).</summary>
    public int? WaitingEntriesCount { get; init; }

    public List<ConsumerStats> Consumers { get; init; } = [];
}

public sealed record ConsumerStats
{
    public string ConsumerName { get; init; } = "";
    public double MsgRateOut { get; init; }
    public double MsgThroughputOut { get; init; }
    public double MsgRateRedeliver { get; init; }
    public long MsgOutCounter { get; init; }
    public long BytesOutCounter { get; init; }
    public long AvailablePermits { get; init; }
    public long UnackedMessages { get; init; }

    /// <summary>Key_Shared only: the key hash ranges the consumer owns, as <c>[start, end]</c> (Pulsar's form).</summary>
    public List<string>? KeyHashRanges { get; init; }
    public long LastConsumedTimestamp { get; init; }
    public long LastAckedTimestamp { get; init; }
    public long MsgNegativelyAckedCounter { get; init; }
    public long MsgAckTimedOutCounter { get; init; }
    public string? Address { get; init; }
    public string? ConnectedSince { get; init; }
}

public sealed record InternalTopicStats
{
    public long EntriesAddedCounter { get; init; }
    public long NumberOfEntries { get; init; }
    public long TotalSize { get; init; }
    public long CurrentLedgerEntries { get; init; }
    public long CurrentLedgerSize { get; init; }
    public string LastConfirmedEntry { get; init; } = "";
    public string State { get; init; } = "";
    public List<LedgerStats> Ledgers { get; init; } = [];
    public Dictionary<string, CursorStats> Cursors { get; init; } = [];
}

/// <summary>A ledger in internalStats: offloaded to <see cref="OffloadLocation"/> or not, and whether the bookies still hold it.</summary>
public sealed record LedgerStats(long LedgerId, long Entries, long Size, bool Offloaded, bool BookieDeleted = false, string? OffloadLocation = null);

public sealed record CursorStats
{
    public string MarkDeletePosition { get; init; } = "";
    public string ReadPosition { get; init; } = "";
    /// <summary>Pulsar's form: "[(l:e1,l:e2], …]" — open-closed ranges of individually acknowledged entries.</summary>
    public string IndividuallyDeletedMessages { get; init; } = "[]";
    public long NumberOfEntriesSinceFirstNotAckedMessage { get; init; }
    public int TotalNonContiguousDeletedMessagesRange { get; init; }

    /// <summary>The subscription's delayed-delivery index; null (left out) when it holds nothing.</summary>
    public DelayedIndexStats? DelayedIndex { get; init; }
    /// <summary>Unacknowledged entries whose redelivery count is stored with the cursor (docs/messaging.md).</summary>
    public int StoredRedeliveryCounts { get; init; }
    /// <summary>The entry being moved to the dead-letter topic ("ledger:entry"), or null.</summary>
    public string? DeadLetterInFlight { get; init; }
}

/// <summary>What a subscription holds until its deliver_at_ms, and how: in memory or spilled to summaries re-read from the log.</summary>
public sealed record DelayedIndexStats(long Entries, long Messages, long SpilledEntries, int Slots, int Summaries, long SizeInBytes, long TickMs);
