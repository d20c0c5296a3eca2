using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Admin;

/// <summary>The broker's answers to the admin API about topics and subscriptions.</summary>
public sealed partial class TopicAdmin(TopicRegistry topics) : ITopicAdmin
{
    private PolicyStore Policies => topics.Policies;

    public async Task<IReadOnlyList<string>> ListTopicsAsync(NamespaceName ns, CancellationToken cancellationToken)
    {
        await Policies.RequireNamespaceAsync(ns, cancellationToken).ConfigureAwait(false);
        var names = await Policies.Metadata.ListChildrenAsync(MetadataPaths.TopicsOf(ns), cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. names.Order(StringComparer.Ordinal).Select(n => new TopicName(ns, n).ToString())];
    }

    public async Task<IReadOnlyList<string>> ListPartitionedTopicsAsync(NamespaceName ns, CancellationToken cancellationToken)
    {
        await Policies.RequireNamespaceAsync(ns, cancellationToken).ConfigureAwait(false);
        var names = await Policies.Metadata.ListChildrenAsync(MetadataPaths.PartitionedTopicsOf(ns), cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. names.Order(StringComparer.Ordinal).Select(n => new TopicName(ns, n).ToString())];
    }

    public Task<TopicLookup> LookupAsync(TopicName topic, CancellationToken cancellationToken) => topics.LookupAsync(topic, cancellationToken);

    public async Task CreateTopicAsync(TopicName topic, CancellationToken cancellationToken)
    {
        await topics.Ownership.RequireLocalAsync(topic, cancellationToken).ConfigureAwait(false);
        await Policies.RequireNamespaceAsync(topic.Namespace, cancellationToken).ConfigureAwait(false);
        if (await ExistsAsync(topic, cancellationToken).ConfigureAwait(false) || await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false) > 0)
            throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Topic {topic} already exists.");
        await topics.LoadAsync(topic, cancellationToken).ConfigureAwait(false);
    }

    public async Task CreatePartitionedTopicAsync(TopicName topic, int partitions, CancellationToken cancellationToken)
    {
        if (partitions < 1)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"A partitioned topic needs at least 1 partition (was {partitions}).");
        if (topic.PartitionIndex >= 0)
            throw new BrokerException(BrokerErrorCode.BadName, $"'{topic.LocalName}' names a partition; a partitioned topic's name must not end in {TopicName.PartitionSuffix}N.");
        await Policies.RequireNamespaceAsync(topic.Namespace, cancellationToken).ConfigureAwait(false);
        if (await ExistsAsync(topic, cancellationToken).ConfigureAwait(false) || !await Policies.TryCreatePartitionedAsync(topic, partitions, cancellationToken).ConfigureAwait(false))
            throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Topic {topic} already exists.");
        await LoadOwnedPartitionsAsync(topic, 0, partitions, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> GetPartitionsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        if (partitions == 0 && !await ExistsAsync(topic, cancellationToken).ConfigureAwait(false))
            throw new BrokerException(BrokerErrorCode.TopicNotFound, $"Topic {topic} does not exist.");
        return partitions;
    }

    /// <summary>
    /// A partitioned topic's base name deletes it with all its partitions, as Pulsar does. The topic's own
    /// policies go with it; one partition's deletion keeps them (they are its partitioned topic's).
    /// </summary>
    public async Task DeleteTopicAsync(TopicName topic, bool force, CancellationToken cancellationToken)
    {
        if (topic.PartitionIndex < 0 && await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false) > 0)
        {
            await DeletePartitionedTopicAsync(topic, force, cancellationToken).ConfigureAwait(false);
            return;
        }
        await topics.DeleteAsync(topic, force, cancellationToken).ConfigureAwait(false);
        if (topic.PartitionIndex < 0)
            await DeleteTopicPoliciesAsync(topic, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the topic's own policies (<see cref="MetadataPaths.TopicPolicies"/>) and the grants on it (its namespace's
    /// auth_policies), so that a topic created later under the same name starts without them.
    /// </summary>
    private async Task DeleteTopicPoliciesAsync(TopicName topic, CancellationToken cancellationToken)
    {
        await Policies.Metadata.DeleteAsync(MetadataPaths.TopicPolicies(topic), cancellationToken: cancellationToken).ConfigureAwait(false);
        await Policies.RemoveTopicGrantsAsync(topic, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeletePartitionedTopicAsync(TopicName topic, bool force, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        if (partitions == 0)
            throw new BrokerException(BrokerErrorCode.TopicNotFound, $"Partitioned topic {topic} does not exist.");
        if (!force)
        {
            for (var i = 0; i < partitions; i++)
            {
                if (topics.FindLoaded(topic.Partition(i)) is { IsInUse: true })
                    throw new BrokerException(BrokerErrorCode.Conflict, $"Partition {topic.Partition(i)} has connected producers or consumers; disconnect them first or delete with force=true.");
            }
        }
        for (var i = 0; i < partitions; i++)
        {
            if ((await topics.Ownership.ResolveAsync(topic.Partition(i), cancellationToken).ConfigureAwait(false)) is { State: OwnershipState.Elsewhere } elsewhere)
                throw new BrokerException(BrokerErrorCode.Unavailable,
                    $"{topic.Partition(i)} is served by the broker at {elsewhere.Owner!.HttpUrl}; deleting partitions of several brokers in one call is not built yet: delete each partition at its owner.");
        }
        for (var i = 0; i < partitions; i++)
        {
            if (await ExistsAsync(topic.Partition(i), cancellationToken).ConfigureAwait(false))
                await topics.DeleteAsync(topic.Partition(i), force: true, cancellationToken).ConfigureAwait(false);
        }
        await Policies.Metadata.DeleteAsync(MetadataPaths.PartitionedTopic(topic), cancellationToken: cancellationToken).ConfigureAwait(false);
        await DeleteTopicPoliciesAsync(topic, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListSubscriptionsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var each in Expand(topic, partitions))
        {
            var loaded = await RequireAsync(each, cancellationToken, oneOfMany: partitions > 0).ConfigureAwait(false);
            names.UnionWith(loaded.Subscriptions.Where(s => s.IsDurable).Select(s => s.Name));
        }
        return [.. names];
    }

    public async Task CreateSubscriptionAsync(TopicName topic, string subscription, MessageIdData? start, CancellationToken cancellationToken)
    {
        ValidateSubscription(subscription);
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        foreach (var each in Expand(topic, partitions))
        {
            var loaded = await RequireAsync(each, cancellationToken, oneOfMany: partitions > 0).ConfigureAwait(false);
            if (loaded.FindSubscription(subscription) is { IsDurable: true })
                throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Subscription {subscription} already exists on {each}.");
        }
        foreach (var each in Expand(topic, partitions))
        {
            var loaded = await RequireAsync(each, cancellationToken, oneOfMany: partitions > 0).ConfigureAwait(false);
            var created = await loaded.GetOrCreateSubscriptionAsync(subscription,
                start is null ? InitialPosition.Latest : InitialPosition.Earliest, cancellationToken).ConfigureAwait(false);
            if (start is { LedgerId: >= 0 })
                await created.ResetAsync(new Position(start.LedgerId, start.EntryId), cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task DeleteSubscriptionAsync(TopicName topic, string subscription, bool force, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        foreach (var each in Expand(topic, partitions))
        {
            var loaded = await RequireAsync(each, cancellationToken, oneOfMany: partitions > 0).ConfigureAwait(false);
            await loaded.DeleteSubscriptionAsync(subscription, force, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ResetCursorAsync(TopicName topic, string subscription, long publishTimeMs, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        foreach (var each in Expand(topic, partitions))
        {
            var loaded = await RequireAsync(each, cancellationToken, oneOfMany: partitions > 0).ConfigureAwait(false);
            var target = await TopicPositions.FindByPublishTimeAsync(loaded.Ledger, publishTimeMs, cancellationToken).ConfigureAwait(false);
            await RequireSubscription(loaded, subscription).ResetAsync(target, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ResetCursorAsync(TopicName topic, string subscription, MessageIdData messageId, CancellationToken cancellationToken)
    {
        var loaded = await RequireAsync(messageId.PartitionIndex >= 0 && topic.PartitionIndex < 0 ? topic.Partition(messageId.PartitionIndex) : topic, cancellationToken).ConfigureAwait(false);
        var target = RequireResetTarget(loaded, messageId);
        await RequireSubscription(loaded, subscription).ResetAsync(target, cancellationToken).ConfigureAwait(false);
    }

    public async Task TriggerOffloadAsync(TopicName topic, MessageIdData? upTo, CancellationToken cancellationToken)
    {
        if (await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false) > 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"{topic} is a partitioned topic: offload each partition ({topic}-partition-0, …).");
        var loaded = await RequireAsync(topic, cancellationToken).ConfigureAwait(false);
        var position = upTo is null ? new Position(long.MaxValue, long.MaxValue) : new Position(upTo.LedgerId, upTo.EntryId);
        await topics.StartOffloadAsync(loaded, position, cancellationToken).ConfigureAwait(false);
    }

    public async Task<OffloadProcessStatus> GetOffloadStatusAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var loaded = await RequireAsync(topic, cancellationToken).ConfigureAwait(false);
        return TopicRegistry.OffloadStatusOf(loaded, topic.PartitionIndex);
    }

    public async Task SkipAsync(TopicName topic, string subscription, long messages, CancellationToken cancellationToken)
    {
        if (messages < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Cannot skip a negative number of messages ({messages}).");
        var loaded = await RequireAsync(topic, cancellationToken).ConfigureAwait(false);
        await RequireSubscription(loaded, subscription).Cursor.SkipAsync(messages, cancellationToken).ConfigureAwait(false);
    }

    public async Task SkipAllAsync(TopicName topic, string subscription, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        foreach (var each in Expand(topic, partitions))
        {
            var loaded = await RequireAsync(each, cancellationToken, oneOfMany: partitions > 0).ConfigureAwait(false);
            await RequireSubscription(loaded, subscription).Cursor.ClearBacklogAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static IEnumerable<TopicName> Expand(TopicName topic, int partitions)
        => partitions == 0 ? [topic] : Enumerable.Range(0, partitions).Select(topic.Partition);

    private Task<bool> ExistsAsync(TopicName topic, CancellationToken cancellationToken)
        => ManagedLedger.ExistsAsync(topic.ManagedLedgerName, Policies.Metadata, cancellationToken);

    /// <summary>
    /// The topic, loaded; TopicNotFound when it is not stored (admin calls never create topics by using
    /// them); <see cref="OwnedElsewhereException"/> (a redirect) when another broker owns it. A topic
    /// that is <paramref name="oneOfMany"/> a call spans (a partitioned topic's partitions, a
    /// namespace's topics) is refused instead: redirecting the whole call to one topic's owner would
    /// not serve the others.
    /// </summary>
    private async Task<Topic> RequireAsync(TopicName topic, CancellationToken cancellationToken, bool oneOfMany = false)
    {
        try
        {
            return await topics.GetTopicAsync(topic, create: false, cancellationToken).ConfigureAwait(false);
        }
        catch (OwnedElsewhereException e) when (oneOfMany)
        {
            throw new BrokerException(BrokerErrorCode.Unavailable,
                $"{topic} is served by the broker at {e.Owner.HttpUrl}; a call spanning topics of several brokers is not built yet: ask each topic at its owner.", e);
        }
    }

    /// <summary>Creates the partitions [<paramref name="from"/>, <paramref name="to"/>) this broker owns now; the others are created by their owners on first use.</summary>
    private async Task LoadOwnedPartitionsAsync(TopicName topic, int from, int to, CancellationToken cancellationToken)
    {
        for (var i = from; i < to; i++)
        {
            var partition = topic.Partition(i);
            if ((await topics.Ownership.ResolveAsync(partition, cancellationToken).ConfigureAwait(false)).State == OwnershipState.Local)
                await topics.LoadAsync(partition, cancellationToken).ConfigureAwait(false);
        }
    }

    private static Subscriptions.Subscription RequireSubscription(Topic topic, string subscription)
        => topic.FindSubscription(subscription) is { IsDurable: true } found ? found
            : throw new BrokerException(BrokerErrorCode.SubscriptionNotFound, $"Subscription {subscription} does not exist on {topic.Name}.");

    private static void ValidateSubscription(string subscription)
    {
        if (string.IsNullOrWhiteSpace(subscription) || subscription.Length > 256 || subscription.Any(char.IsControl))
            throw new BrokerException(BrokerErrorCode.BadName, $"Invalid subscription name '{subscription}': 1-256 characters, no control characters.");
    }
}
