namespace Tiered.Broker.Admin;

// GET …/stats and …/internalStats, in Pulsar's JSON shapes (camelCase).

public sealed record TopicStats
{
    public double MsgRateIn { get; init; }
    public double MsgThroughputIn { get; init; }
    public double MsgRateOut { get; init; }
    public double MsgThroughputOut { get; init; }
    public long MsgInCounter { get; init; }
    public long BytesInCounter { get; init; }
    public long MsgOutCounter { get; init; }
    public long BytesOutCounter { get; init; }
    public long StorageSize { get; init; }
    public List<PublisherStats> Publishers { get; init; } = [];
    public Dictionary<string, SubscriptionStats> Subscriptions { get; init; } = [];
}

public sealed record PublisherStats
{
    public string ProducerName { get; init; } = "";
    public double MsgRateIn { get; init; }
    public double MsgThroughputIn { get; init; }
    public string? Address { get; init; }
    public string? ConnectedSince { get; init; }
}

public sealed record SubscriptionStats
{
    public string Type { get; init; } = "Exclusive";
    public double MsgRateOut { get; init; }
    public double MsgThroughputOut { get; init; }
    public long MsgBacklog { get; init; }
    public long UnackedMessages { get; init; }
    public bool IsDurable { get; init; } = true;
    public List<ConsumerStats> Consumers { get; init; } = [];
}

public sealed record ConsumerStats
{
    public string ConsumerName { get; init; } = "";
    public double MsgRateOut { get; init; }
    public long AvailablePermits { get; init; }
    public long UnackedMessages { get; init; }
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
}
