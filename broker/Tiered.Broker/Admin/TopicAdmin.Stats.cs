using System.Globalization;
using System.Text;
using Tiered.Broker.Naming;
using Tiered.Broker.Subscriptions;
using Tiered.Broker.Topics;
using Tiered.V1;

namespace Tiered.Broker.Admin;

public sealed partial class TopicAdmin
{
    public async Task<TopicStats> GetStatsAsync(TopicName topic, CancellationToken cancellationToken)
        => StatsOf(await RequireAsync(topic, cancellationToken).ConfigureAwait(false));

    private static TopicStats StatsOf(Topic loaded)
    {
        var subscriptions = loaded.Subscriptions;
        var ledgers = loaded.Ledger.Ledgers;
        loaded.MessageCounts.Retain(ledgers);
        var messagesOut = subscriptions.Sum(s => Interlocked.Read(ref s.MessagesOut));
        var bytesOut = subscriptions.Sum(s => Interlocked.Read(ref s.BytesOut));
        var messagesIn = Interlocked.Read(ref loaded.MessagesIn);
        var bytesIn = Interlocked.Read(ref loaded.BytesIn);
        var rateIn = loaded.InRates.Sample(new RateCounters(messagesIn, bytesIn));
        var rateOut = loaded.OutRates.Sample(new RateCounters(messagesOut, bytesOut));
        var backlogSize = loaded.EstimatedBacklogBytes();
        var quota = loaded.BacklogQuotaStatus;
        return new TopicStats
        {
            MsgRateIn = rateIn.Messages,
            MsgThroughputIn = rateIn.Bytes,
            MsgRateOut = rateOut.Messages,
            MsgThroughputOut = rateOut.Bytes,
            AverageMsgSize = rateIn.AverageMessageSize,
            MsgInCounter = messagesIn,
            BytesInCounter = bytesIn,
            MsgOutCounter = messagesOut,
            BytesOutCounter = bytesOut,
            StorageSize = ledgers.Where(l => !l.BookieDeleted).Sum(l => l.Size),
            BacklogSize = backlogSize,
            OffloadedStorageSize = ledgers.Where(l => l.Offloaded).Sum(l => l.Size),
            BacklogQuotaLimitSize = quota.LimitSize,
            BacklogQuotaLimitTime = quota.LimitTime,
            OldestBacklogMessageAgeSeconds = quota.OldestBacklogMessageAgeSeconds,
            BacklogQuotaExceeded = (quota.LimitSize >= 0 && backlogSize > quota.LimitSize) || quota.TimeExceeded,
            Publishers = [.. loaded.Producers.Select(PublisherStatsOf)],
            Subscriptions = subscriptions.ToDictionary(s => s.Name, s => SubscriptionStatsOf(loaded, s), StringComparer.Ordinal),
            Replication = loaded.Replicators.ToDictionary(r => r.Remote, ReplicatorStatsOf, StringComparer.Ordinal),
        };
    }

    private static PublisherStats PublisherStatsOf(ProducerInfo producer)
    {
        var counters = new RateCounters(Interlocked.Read(ref producer.MessagesIn), Interlocked.Read(ref producer.BytesIn));
        var rates = producer.Rates.Sample(counters);
        return new PublisherStats
        {
            ProducerName = producer.Name,
            MsgRateIn = rates.Messages,
            MsgThroughputIn = rates.Bytes,
            AverageMsgSize = rates.AverageMessageSize,
            MsgInCounter = counters.Messages,
            BytesInCounter = counters.Bytes,
            Address = producer.Address,
            ConnectedSince = Timestamp(producer.ConnectedSince),
        };
    }

    private static SubscriptionStats SubscriptionStatsOf(Topic topic, Subscription subscription)
    {
        var counters = new RateCounters(Interlocked.Read(ref subscription.MessagesOut), Interlocked.Read(ref subscription.BytesOut),
            Interlocked.Read(ref subscription.MessagesRedelivered));
        var rates = subscription.Rates.Sample(counters);
        var backlog = topic.BacklogOf(subscription);
        var keyShared = subscription.Type == SubscriptionType.KeyShared;
        var (draining, waiting) = keyShared ? subscription.KeySharedState : default;
        var consumers = subscription.Consumers;
        return new SubscriptionStats
        {
            Type = TypeName(subscription.Type),
            MsgRateOut = rates.Messages,
            MsgThroughputOut = rates.Bytes,
            MsgRateRedeliver = rates.Redelivered,
            MsgOutCounter = counters.Messages,
            BytesOutCounter = counters.Bytes,
            MsgBacklog = backlog.Messages,
            BacklogEntries = backlog.Entries,
            BacklogSize = backlog.Bytes,
            UnackedMessages = subscription.UnackedMessages,
            MsgDelayed = subscription.DelayedMessages,
            DelayedMessageIndexSizeInBytes = subscription.DelayedIndexBytes,
            LastConsumedTimestamp = Volatile.Read(ref subscription.LastConsumedMs),
            LastAckedTimestamp = Volatile.Read(ref subscription.LastAckedMs),
            IsDurable = subscription.IsDurable,
            IsReplicated = Replication.ReplicatedSubscriptions.IsReplicated(subscription),
            MsgNegativelyAckedCounter = Interlocked.Read(ref subscription.MessagesNegativelyAcked),
            MsgAckTimedOutCounter = Interlocked.Read(ref subscription.MessagesAckTimedOut),
            MsgDeadLetteredCounter = Interlocked.Read(ref subscription.MessagesDeadLettered),
            KeySharedMode = keyShared ? (consumers.Count > 0 && consumers[0].KeySharedMode == KeySharedPolicy.Types.Mode.Sticky ? "STICKY" : "AUTO_SPLIT") : null,
            DrainingHashesCount = keyShared ? draining : null,
            WaitingEntriesCount = keyShared ? waiting : null,
            Consumers = [.. consumers.Select(ConsumerStatsOf)],
        };
    }

    private static ConsumerStats ConsumerStatsOf(Consumer consumer)
    {
        var counters = new RateCounters(Interlocked.Read(ref consumer.MessagesOut), Interlocked.Read(ref consumer.BytesOut),
            Interlocked.Read(ref consumer.MessagesRedelivered));
        var rates = consumer.Rates.Sample(counters);
        return new ConsumerStats
        {
            ConsumerName = consumer.Name,
            MsgRateOut = rates.Messages,
            MsgThroughputOut = rates.Bytes,
            MsgRateRedeliver = rates.Redelivered,
            MsgOutCounter = counters.Messages,
            BytesOutCounter = counters.Bytes,
            AvailablePermits = consumer.Permits,
            UnackedMessages = consumer.PendingMessages,
            KeyHashRanges = consumer.Type == SubscriptionType.KeyShared ? [.. consumer.KeyHashRanges.Select(r => r.ToString())] : null,
            LastConsumedTimestamp = Volatile.Read(ref consumer.LastConsumedMs),
            LastAckedTimestamp = Volatile.Read(ref consumer.LastAckedMs),
            MsgNegativelyAckedCounter = Interlocked.Read(ref consumer.MessagesNegativelyAcked),
            MsgAckTimedOutCounter = Interlocked.Read(ref consumer.MessagesAckTimedOut),
            Address = consumer.Address,
            ConnectedSince = Timestamp(consumer.ConnectedSince),
        };
    }

    public async Task<InternalTopicStats> GetInternalStatsAsync(TopicName topic, CancellationToken cancellationToken)
        => InternalStatsOf(await RequireAsync(topic, cancellationToken).ConfigureAwait(false));

    private static InternalTopicStats InternalStatsOf(Topic loaded)
    {
        var ledger = loaded.Ledger;
        var ledgers = ledger.Ledgers;
        var current = ledgers.Count > 0 ? ledgers[^1] : default;
        return new InternalTopicStats
        {
            EntriesAddedCounter = ledger.EntriesAddedCounter,
            NumberOfEntries = ledger.NumberOfEntries,
            TotalSize = ledger.TotalSize,
            CurrentLedgerEntries = current.Entries,
            CurrentLedgerSize = current.Size,
            LastConfirmedEntry = ledger.LastConfirmedEntry.ToString(),
            State = "LedgerOpened",
            Ledgers = [.. ledgers.Select(l => new LedgerStats(l.LedgerId, l.Entries, l.Size, l.Offloaded, l.BookieDeleted, l.OffloadLocation))],
            Cursors = loaded.Subscriptions.Where(s => s.IsDurable).ToDictionary(s => s.Name, s =>
            {
                var ranges = s.Cursor.AckedRanges;
                return new CursorStats
                {
                    MarkDeletePosition = s.Cursor.MarkDeletePosition.ToString(),
                    ReadPosition = s.Cursor.ReadPosition.ToString(),
                    IndividuallyDeletedMessages = FormatRanges(ranges),
                    TotalNonContiguousDeletedMessagesRange = ranges.Count,
                    NumberOfEntriesSinceFirstNotAckedMessage = ledger.GetEntriesBetween(s.Cursor.MarkDeletePosition, ledger.LastConfirmedEntry),
                    DelayedIndex = s.DelayedIndexStats(),
                    StoredRedeliveryCounts = s.Cursor.RedeliveryCounts.Count,
                    DeadLetterInFlight = s.Cursor.DeadLetterInFlight?.Position.ToString(),
                };
            }, StringComparer.Ordinal),
        };
    }

    /// <summary>Pulsar's form: open-closed ranges "[(l:e1,l:e2]]" (first acknowledged entry minus one, last acknowledged entry).</summary>
    private static string FormatRanges(IReadOnlyList<(ManagedLedgers.Position First, ManagedLedgers.Position Last)> ranges)
    {
        var text = new StringBuilder("[");
        foreach (var (first, last) in ranges)
        {
            if (text.Length > 1)
                text.Append(',');
            text.Append(CultureInfo.InvariantCulture, $"({first.LedgerId}:{first.EntryId - 1}..{last}]");
        }
        return text.Append(']').ToString();
    }

    private static string Timestamp(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    private static string TypeName(SubscriptionType type) => type switch
    {
        SubscriptionType.Shared => "Shared",
        SubscriptionType.Failover => "Failover",
        SubscriptionType.KeyShared => "Key_Shared",
        _ => "Exclusive",
    };

    private static ReplicatorStats ReplicatorStatsOf(Replication.IReplicator replicator)
    {
        var rates = replicator.SampleRates();
        return new ReplicatorStats
        {
            MsgRateOut = rates.Messages,
            MsgThroughputOut = rates.Bytes,
            MsgOutCounter = replicator.MessagesOut,
            BytesOutCounter = replicator.BytesOut,
            ReplicationBacklog = replicator.Backlog,
            Connected = replicator.Connected,
            ReplicationDelayInSeconds = replicator.DelaySeconds,
            Stopped = replicator.Stopped,
            LastError = replicator.LastError,
        };
    }
}
