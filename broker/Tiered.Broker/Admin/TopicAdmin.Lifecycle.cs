using System.Text.Json;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Metadata;

namespace Tiered.Broker.Admin;

/// <summary>Growing partitioned topics, terminating topics, expiring messages and clearing a namespace's backlog.</summary>
public sealed partial class TopicAdmin
{
    public async Task UpdatePartitionedTopicAsync(TopicName topic, int partitions, CancellationToken cancellationToken)
    {
        if (topic.PartitionIndex >= 0)
            throw new BrokerException(BrokerErrorCode.BadName, $"'{topic.LocalName}' names a partition; give the partitioned topic's name.");
        await Policies.RequireNamespaceAsync(topic.Namespace, cancellationToken).ConfigureAwait(false);
        var key = MetadataPaths.PartitionedTopic(topic);
        var stored = await Policies.Metadata.GetAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (stored is null)
        {
            throw await ExistsAsync(topic, cancellationToken).ConfigureAwait(false)
                ? new BrokerException(BrokerErrorCode.Conflict, $"Topic {topic} is not partitioned: only a partitioned topic's partitions can be updated.")
                : new BrokerException(BrokerErrorCode.TopicNotFound, $"Partitioned topic {topic} does not exist.");
        }
        var current = JsonSerializer.Deserialize<PartitionedTopicMetadata>(stored.Value.Span, PolicyStore.Json)?.Partitions ?? 0;
        if (partitions < current)
            throw new BrokerException(BrokerErrorCode.Conflict, $"Topic {topic} has {current} partitions and cannot shrink to {partitions}: partitions may only grow.");
        if (partitions == current)
            return;
        try
        {
            await Policies.Metadata.PutAsync(key, JsonSerializer.SerializeToUtf8Bytes(new PartitionedTopicMetadata(partitions), PolicyStore.Json),
                expectedVersion: stored.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            throw new BrokerException(BrokerErrorCode.VersionConflict, $"The partitions of {topic} were changed concurrently; read them again and retry.", e);
        }
        // Partitions beyond the old count are created on first use anyway; creating them now makes them listed at once.
        await LoadOwnedPartitionsAsync(topic, current, partitions, cancellationToken).ConfigureAwait(false);
    }

    public async Task<MessageIdData> TerminateAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        if (partitions > 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"{topic} is a partitioned topic: terminate all its partitions with POST …/{topic.LocalName}/terminate/partitions, or one partition by its name.");
        var loaded = await RequireAsync(topic, cancellationToken).ConfigureAwait(false);
        var end = await topics.TerminateAsync(loaded, cancellationToken).ConfigureAwait(false);
        return new MessageIdData(end.LedgerId, end.EntryId, topic.PartitionIndex);
    }

    public async Task TerminatePartitionedTopicAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        if (partitions == 0)
            throw new BrokerException(BrokerErrorCode.TopicNotFound, $"Partitioned topic {topic} does not exist.");
        for (var i = 0; i < partitions; i++)
        {
            var loaded = await RequireAsync(topic.Partition(i), cancellationToken, oneOfMany: true).ConfigureAwait(false);
            await topics.TerminateAsync(loaded, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task ExpireMessagesAsync(TopicName topic, string? subscription, int seconds, CancellationToken cancellationToken)
    {
        if (seconds < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid expiry time {seconds}: it must be >= 0 seconds.");
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        var targets = new List<Subscriptions.Subscription>();
        foreach (var each in Expand(topic, partitions))
        {
            var loaded = await RequireAsync(each, cancellationToken, oneOfMany: partitions > 0).ConfigureAwait(false);
            if (subscription is null)
                targets.AddRange(loaded.Subscriptions.Where(s => s.IsDurable));
            else
                targets.Add(RequireSubscription(loaded, subscription));
        }
        foreach (var target in targets)
            await topics.ExpireMessagesAsync(target, TimeSpan.FromSeconds(seconds), cancellationToken).ConfigureAwait(false);
    }

    public async Task ClearNamespaceBacklogAsync(NamespaceName ns, string? subscription, CancellationToken cancellationToken)
    {
        foreach (var name in await ListTopicsAsync(ns, cancellationToken).ConfigureAwait(false))
        {
            var loaded = await RequireAsync(TopicName.Parse(name), cancellationToken, oneOfMany: true).ConfigureAwait(false);
            foreach (var each in loaded.Subscriptions)
            {
                if (each.IsDurable && (subscription is null || each.Name == subscription))
                    await each.Cursor.ClearBacklogAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
