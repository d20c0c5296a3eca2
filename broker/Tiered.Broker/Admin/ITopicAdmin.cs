using Tiered.Broker.Naming;
using Tiered.Broker.Topics;

namespace Tiered.Broker.Admin;

/// <summary>
/// What the admin API asks of the broker about topics and subscriptions. Failures are
/// <see cref="BrokerException"/>s whose code says which HTTP status to answer with, and
/// <see cref="Ownership.OwnedElsewhereException"/> for a topic another broker owns (answered with a
/// redirect to it): every topic is reached through the broker's ownership gate, and one this
/// broker does not own is never opened.
/// </summary>
public interface ITopicAdmin
{
    /// <summary>Full names of the namespace's topics, partitions of partitioned topics included.</summary>
    Task<IReadOnlyList<string>> ListTopicsAsync(NamespaceName ns, CancellationToken cancellationToken);

    /// <summary>Full names of the namespace's partitioned topics.</summary>
    Task<IReadOnlyList<string>> ListPartitionedTopicsAsync(NamespaceName ns, CancellationToken cancellationToken);

    /// <summary>Creates a topic without partitions. AlreadyExists, NamespaceNotFound.</summary>
    Task CreateTopicAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>Creates a partitioned topic and its partitions. AlreadyExists, NamespaceNotFound, BadRequest (partitions &lt; 1).</summary>
    Task CreatePartitionedTopicAsync(TopicName topic, int partitions, CancellationToken cancellationToken);

    /// <summary>The number of partitions; 0 for a topic without partitions. TopicNotFound when neither exists.</summary>
    Task<int> GetPartitionsAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>Deletes a topic (or one partition) with its data, and a topic's own policies. TopicNotFound; Conflict when clients are connected and not <paramref name="force"/>.</summary>
    Task DeleteTopicAsync(TopicName topic, bool force, CancellationToken cancellationToken);

    /// <summary>Deletes a partitioned topic, all its partitions and its policies.</summary>
    Task DeletePartitionedTopicAsync(TopicName topic, bool force, CancellationToken cancellationToken);

    Task<TopicStats> GetStatsAsync(TopicName topic, CancellationToken cancellationToken);

    Task<InternalTopicStats> GetInternalStatsAsync(TopicName topic, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> ListSubscriptionsAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>Creates a durable subscription (on every partition of a partitioned topic) at <paramref name="start"/>, or after the last message when null. AlreadyExists.</summary>
    Task CreateSubscriptionAsync(TopicName topic, string subscription, MessageIdData? start, CancellationToken cancellationToken);

    /// <summary>SubscriptionNotFound; Conflict when consumers are connected and not <paramref name="force"/>.</summary>
    Task DeleteSubscriptionAsync(TopicName topic, string subscription, bool force, CancellationToken cancellationToken);

    /// <summary>Moves the subscription to the first message published at or after <paramref name="publishTimeMs"/>.</summary>
    Task ResetCursorAsync(TopicName topic, string subscription, long publishTimeMs, CancellationToken cancellationToken);

    /// <summary>Moves the subscription so that <paramref name="messageId"/> is the next message delivered.</summary>
    Task ResetCursorAsync(TopicName topic, string subscription, MessageIdData messageId, CancellationToken cancellationToken);

    /// <summary>Acknowledges the next <paramref name="messages"/> entries of the subscription.</summary>
    Task SkipAsync(TopicName topic, string subscription, long messages, CancellationToken cancellationToken);

    /// <summary>Acknowledges everything (clear-backlog).</summary>
    Task SkipAllAsync(TopicName topic, string subscription, CancellationToken cancellationToken);

    /// <summary>Starts offloading the topic's closed ledgers up to <paramref name="upTo"/> (null: all of them) in the background. BadRequest when no store is configured; Conflict when one runs.</summary>
    Task TriggerOffloadAsync(TopicName topic, MessageIdData? upTo, CancellationToken cancellationToken);

    /// <summary>The topic's last offload: NOT_RUN, RUNNING, SUCCESS or ERROR with its error.</summary>
    Task<OffloadProcessStatus> GetOffloadStatusAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>The partitions' stats summed (subscriptions by name), each partition's too when <paramref name="perPartition"/>. TopicNotFound when not partitioned.</summary>
    Task<PartitionedTopicStats> GetPartitionedStatsAsync(TopicName topic, bool perPartition, CancellationToken cancellationToken);

    /// <summary>Each partition's internal stats. TopicNotFound when not partitioned.</summary>
    Task<PartitionedTopicInternalStats> GetPartitionedInternalStatsAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>The <paramref name="position"/>th message (from 1) the subscription has not acknowledged, counting messages of batches. MessageNotFound past the backlog; BadRequest for position &lt; 1 or a partitioned topic.</summary>
    Task<PeekedMessage> PeekMessageAsync(TopicName topic, string subscription, long position, CancellationToken cancellationToken);

    /// <summary>The <paramref name="position"/>th message (from 1) from the first retained one, or back from the last when <paramref name="fromLatest"/>.</summary>
    Task<PeekedMessage> ExamineMessageAsync(TopicName topic, bool fromLatest, long position, CancellationToken cancellationToken);

    /// <summary>Message <paramref name="batchIndex"/> of entry <paramref name="ledgerId"/>:<paramref name="entryId"/>. MessageNotFound when there is none.</summary>
    Task<PeekedMessage> GetMessageByIdAsync(TopicName topic, long ledgerId, long entryId, int batchIndex, CancellationToken cancellationToken);

    /// <summary>The id of the last message stored (entry -1 when the topic is empty); batchIndex is the last message of a batch.</summary>
    Task<MessageIdData> GetLastMessageIdAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>Grows a partitioned topic to <paramref name="partitions"/> (creating the new partitions). TopicNotFound; Conflict when it is not partitioned or the count would shrink.</summary>
    Task UpdatePartitionedTopicAsync(TopicName topic, int partitions, CancellationToken cancellationToken);

    /// <summary>Terminates a topic (or one partition): no more publishes; answers its last message id. BadRequest for a partitioned topic's base name.</summary>
    Task<MessageIdData> TerminateAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>Terminates every partition of a partitioned topic. TopicNotFound when it is not partitioned.</summary>
    Task TerminatePartitionedTopicAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>Acknowledges the messages published more than <paramref name="seconds"/> ago, on one subscription or (null) on all of them.</summary>
    Task ExpireMessagesAsync(TopicName topic, string? subscription, int seconds, CancellationToken cancellationToken);

    /// <summary>
    /// Which broker serves <paramref name="topic"/> (acquiring its bundle when nobody owns it, as the
    /// gRPC Lookup does) and its partitions; opens nothing. NamespaceNotFound, TenantNotFound.
    /// </summary>
    Task<TopicLookup> LookupAsync(TopicName topic, CancellationToken cancellationToken);

    /// <summary>Clears the backlog of every subscription (or of <paramref name="subscription"/> only, where it exists) of every topic of the namespace.</summary>
    Task ClearNamespaceBacklogAsync(NamespaceName ns, string? subscription, CancellationToken cancellationToken);
}
