using System.Collections.Concurrent;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// A stand-in for the broker's topics: keeps topics, partitioned topics and subscriptions in
/// memory with the refusals <see cref="ITopicAdmin"/> documents, and records every call so a
/// test can check what the API layer asked for.
/// </summary>
internal sealed class RecordingTopicAdmin : ITopicAdmin
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, SortedSet<string>> _topics = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _partitioned = new(StringComparer.Ordinal);

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Topics with connected clients: deleting them without force is refused.</summary>
    public ConcurrentDictionary<string, bool> Busy { get; } = new(StringComparer.Ordinal);

    public bool WasCalled(string call) => Calls.Contains(call);

    public Task<IReadOnlyList<string>> ListTopicsAsync(NamespaceName ns, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ListTopics {ns}");
        lock (_lock)
            return Task.FromResult<IReadOnlyList<string>>([.. _topics.Keys.Where(t => TopicName.Parse(t).Namespace == ns)]);
    }

    public Task<IReadOnlyList<string>> ListPartitionedTopicsAsync(NamespaceName ns, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ListPartitionedTopics {ns}");
        lock (_lock)
            return Task.FromResult<IReadOnlyList<string>>([.. _partitioned.Keys.Where(t => TopicName.Parse(t).Namespace == ns)]);
    }

    public Task CreateTopicAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"CreateTopic {topic}");
        lock (_lock)
        {
            if (_topics.ContainsKey(topic.ToString()) || _partitioned.ContainsKey(topic.ToString()))
                throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Topic {topic} already exists.");
            _topics[topic.ToString()] = new SortedSet<string>(StringComparer.Ordinal);
        }
        return Task.CompletedTask;
    }

    public Task CreatePartitionedTopicAsync(TopicName topic, int partitions, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"CreatePartitionedTopic {topic} {partitions}");
        lock (_lock)
        {
            if (_topics.ContainsKey(topic.ToString()) || _partitioned.ContainsKey(topic.ToString()))
                throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Topic {topic} already exists.");
            _partitioned[topic.ToString()] = partitions;
            for (var i = 0; i < partitions; i++)
                _topics[topic.Partition(i).ToString()] = new SortedSet<string>(StringComparer.Ordinal);
        }
        return Task.CompletedTask;
    }

    public Task<int> GetPartitionsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetPartitions {topic}");
        lock (_lock)
        {
            if (_partitioned.TryGetValue(topic.ToString(), out var partitions))
                return Task.FromResult(partitions);
            return _topics.ContainsKey(topic.ToString()) ? Task.FromResult(0) : throw NotFound(topic);
        }
    }

    public Task DeleteTopicAsync(TopicName topic, bool force, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"DeleteTopic {topic} force={force}");
        lock (_lock)
        {
            if (!_topics.ContainsKey(topic.ToString()))
                throw NotFound(topic);
            if (!force && Busy.ContainsKey(topic.ToString()))
                throw new BrokerException(BrokerErrorCode.Conflict, $"Topic {topic} has connected clients.");
            _topics.Remove(topic.ToString());
        }
        return Task.CompletedTask;
    }

    public Task DeletePartitionedTopicAsync(TopicName topic, bool force, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"DeletePartitionedTopic {topic} force={force}");
        lock (_lock)
        {
            if (!_partitioned.Remove(topic.ToString(), out var partitions))
                throw NotFound(topic);
            for (var i = 0; i < partitions; i++)
                _topics.Remove(topic.Partition(i).ToString());
        }
        return Task.CompletedTask;
    }

    public Task<TopicStats> GetStatsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetStats {topic}");
        var subscriptions = Subscriptions(topic);
        return Task.FromResult(new TopicStats
        {
            MsgInCounter = 42,
            StorageSize = 4200,
            Subscriptions = subscriptions.ToDictionary(s => s, _ => new SubscriptionStats { MsgBacklog = 7 }),
        });
    }

    public Task<InternalTopicStats> GetInternalStatsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetInternalStats {topic}");
        Subscriptions(topic);
        return Task.FromResult(new InternalTopicStats
        {
            EntriesAddedCounter = 42,
            LastConfirmedEntry = "3:41",
            State = "LedgerOpened",
            Ledgers = [new LedgerStats(3, 42, 4200, Offloaded: false)],
        });
    }

    public Task<IReadOnlyList<string>> ListSubscriptionsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ListSubscriptions {topic}");
        return Task.FromResult<IReadOnlyList<string>>(Subscriptions(topic));
    }

    public Task CreateSubscriptionAsync(TopicName topic, string subscription, MessageIdData? start, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"CreateSubscription {topic} {subscription} at {start?.ToString() ?? "latest"}");
        lock (_lock)
        {
            var subscriptions = _topics.GetValueOrDefault(topic.ToString()) ?? throw NotFound(topic);
            if (!subscriptions.Add(subscription))
                throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Subscription {subscription} already exists on {topic}.");
        }
        return Task.CompletedTask;
    }

    public Task DeleteSubscriptionAsync(TopicName topic, string subscription, bool force, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"DeleteSubscription {topic} {subscription} force={force}");
        lock (_lock)
        {
            var subscriptions = _topics.GetValueOrDefault(topic.ToString()) ?? throw NotFound(topic);
            if (!subscriptions.Remove(subscription))
                throw SubscriptionNotFound(topic, subscription);
        }
        return Task.CompletedTask;
    }

    public Task ResetCursorAsync(TopicName topic, string subscription, long publishTimeMs, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ResetCursor {topic} {subscription} to time {publishTimeMs}");
        EnsureSubscription(topic, subscription);
        return Task.CompletedTask;
    }

    public Task ResetCursorAsync(TopicName topic, string subscription, MessageIdData messageId, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ResetCursor {topic} {subscription} to {messageId}");
        EnsureSubscription(topic, subscription);
        return Task.CompletedTask;
    }

    public Task SkipAsync(TopicName topic, string subscription, long messages, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"Skip {topic} {subscription} {messages}");
        EnsureSubscription(topic, subscription);
        return Task.CompletedTask;
    }

    public Task SkipAllAsync(TopicName topic, string subscription, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"SkipAll {topic} {subscription}");
        EnsureSubscription(topic, subscription);
        return Task.CompletedTask;
    }

    public Task TriggerOffloadAsync(TopicName topic, MessageIdData? upTo, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"TriggerOffload {topic} {(upTo is null ? "all" : $"{upTo.LedgerId}:{upTo.EntryId}")}");
        _ = Subscriptions(topic);
        return Task.CompletedTask;
    }

    public Task<OffloadProcessStatus> GetOffloadStatusAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetOffloadStatus {topic}");
        _ = Subscriptions(topic);
        return Task.FromResult(new OffloadProcessStatus());
    }

    private List<string> Subscriptions(TopicName topic)
    {
        lock (_lock)
            return [.. _topics.GetValueOrDefault(topic.ToString()) ?? throw NotFound(topic)];
    }

    private void EnsureSubscription(TopicName topic, string subscription)
    {
        if (!Subscriptions(topic).Contains(subscription))
            throw SubscriptionNotFound(topic, subscription);
    }

    private static BrokerException NotFound(TopicName topic) => new(BrokerErrorCode.TopicNotFound, $"Topic {topic} does not exist.");

    private static BrokerException SubscriptionNotFound(TopicName topic, string subscription)
        => new(BrokerErrorCode.SubscriptionNotFound, $"Subscription {subscription} does not exist on {topic}.");

    public Task<PartitionedTopicStats> GetPartitionedStatsAsync(TopicName topic, bool perPartition, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetPartitionedStats {topic} {perPartition}");
        _ = Subscriptions(topic);
        return Task.FromResult(new PartitionedTopicStats());
    }

    public Task<PartitionedTopicInternalStats> GetPartitionedInternalStatsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetPartitionedInternalStats {topic}");
        _ = Subscriptions(topic);
        return Task.FromResult(new PartitionedTopicInternalStats());
    }

    public Task<PeekedMessage> PeekMessageAsync(TopicName topic, string subscription, long position, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"PeekMessage {topic} {subscription} {position}");
        EnsureSubscription(topic, subscription);
        return Task.FromResult(new PeekedMessage { Id = new MessageIdData(1, position - 1) });
    }

    public Task<PeekedMessage> ExamineMessageAsync(TopicName topic, bool fromLatest, long position, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ExamineMessage {topic} {(fromLatest ? "latest" : "earliest")} {position}");
        _ = Subscriptions(topic);
        return Task.FromResult(new PeekedMessage { Id = new MessageIdData(1, position - 1) });
    }

    public Task<PeekedMessage> GetMessageByIdAsync(TopicName topic, long ledgerId, long entryId, int batchIndex, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetMessageById {topic} {ledgerId}:{entryId}:{batchIndex}");
        _ = Subscriptions(topic);
        return Task.FromResult(new PeekedMessage { Id = new MessageIdData(ledgerId, entryId) });
    }

    public Task<MessageIdData> GetLastMessageIdAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"GetLastMessageId {topic}");
        _ = Subscriptions(topic);
        return Task.FromResult(new MessageIdData(1, -1));
    }

    public Task UpdatePartitionedTopicAsync(TopicName topic, int partitions, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"UpdatePartitionedTopic {topic} {partitions}");
        lock (_lock)
        {
            if (!_partitioned.TryGetValue(topic.ToString(), out var current))
                throw NotFound(topic);
            if (partitions < current)
                throw new BrokerException(BrokerErrorCode.Conflict, $"Topic {topic} has {current} partitions and cannot shrink to {partitions}.");
            _partitioned[topic.ToString()] = partitions;
            for (var i = current; i < partitions; i++)
                _topics[topic.Partition(i).ToString()] = new SortedSet<string>(StringComparer.Ordinal);
        }
        return Task.CompletedTask;
    }

    public Task<MessageIdData> TerminateAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"Terminate {topic}");
        _ = Subscriptions(topic);
        return Task.FromResult(new MessageIdData(3, 41));
    }

    public Task TerminatePartitionedTopicAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"TerminatePartitionedTopic {topic}");
        lock (_lock)
            return _partitioned.ContainsKey(topic.ToString()) ? Task.CompletedTask : throw NotFound(topic);
    }

    public Task ExpireMessagesAsync(TopicName topic, string? subscription, int seconds, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ExpireMessages {topic} {subscription ?? "(all)"} {seconds}");
        if (subscription is null)
            _ = Subscriptions(topic);
        else
            EnsureSubscription(topic, subscription);
        return Task.CompletedTask;
    }

    public Task ClearNamespaceBacklogAsync(NamespaceName ns, string? subscription, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"ClearNamespaceBacklog {ns} {subscription ?? "(all)"}");
        return Task.CompletedTask;
    }

    /// <summary>Where a lookup sends clients: any topic, at a broker of its own.</summary>
    public static readonly Broker.Ownership.BrokerUrls LookupOwner = new("http://127.0.0.9:6650", "http://127.0.0.9:8080");

    public Task<Broker.Topics.TopicLookup> LookupAsync(TopicName topic, CancellationToken cancellationToken)
    {
        Calls.Enqueue($"Lookup {topic}");
        lock (_lock)
            return Task.FromResult(new Broker.Topics.TopicLookup(topic, _partitioned.GetValueOrDefault(topic.ToString()), LookupOwner));
    }
}
