using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>What a lookup answers: the topic's partitions (0: none) and the broker that serves it.</summary>
/// <param name="Owner">
/// The broker to connect to: the bundle's owner for a topic without partitions (acquired for this broker
/// when nobody owned it); for a partitioned topic's base name, the broker asked, as the client then looks
/// each partition up on its own.
/// </param>
public sealed record TopicLookup(TopicName Topic, int Partitions, BrokerUrls Owner);

/// <summary>Lookup, shared by the gRPC service and the admin API's HTTP lookup so that both answer alike.</summary>
public sealed partial class TopicRegistry
{
    private BrokerUrls? _self;

    /// <summary>This broker's URLs as others reach it (advertised gRPC and admin API URLs).</summary>
    public BrokerUrls Self => _self ??= StandaloneOwnershipGate.SelfOf(_options);

    /// <summary>
    /// Answers the topic's partitions and the broker that serves it: this one, or the owner the
    /// gate names (acquiring the topic's bundle when nobody owns it). Opens nothing. A namespace
    /// whose topics are created partitioned (autoTopicCreation) gets the topic's partitioned
    /// metadata here, as Pulsar's lookup does. <paramref name="unreachableOwner"/>: the owner the client could not
    /// reach, whose replacement the lookup waits for a moment (<see cref="OwnershipGateExtensions.ResolveAsync"/>).
    /// NamespaceNotFound, TenantNotFound.
    /// </summary>
    public async Task<TopicLookup> LookupAsync(TopicName topic, CancellationToken cancellationToken, string? unreachableOwner = null)
    {
        var policies = await Policies.RequireNamespaceAsync(topic.Namespace, cancellationToken).ConfigureAwait(false);
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        if (partitions == 0 && policies.AutoTopicCreationOverride is { AllowAutoTopicCreation: true, TopicType: "partitioned", DefaultNumPartitions: > 0 and var count }
            && topic.PartitionIndex < 0
            && !await ManagedLedger.ExistsAsync(topic.ManagedLedgerName, Policies.Metadata, cancellationToken).ConfigureAwait(false))
        {
            await Policies.TryCreatePartitionedAsync(topic, count, cancellationToken).ConfigureAwait(false);
            partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        }
        var owner = partitions > 0 ? Self : (await Ownership.ResolveAsync(topic, cancellationToken, unreachableOwner).ConfigureAwait(false)).Owner!;
        return new TopicLookup(topic, partitions, owner);
    }
}
