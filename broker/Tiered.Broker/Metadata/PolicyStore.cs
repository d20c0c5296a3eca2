using System.Text.Json;
using System.Text.Json.Nodes;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Microsoft.Extensions.Logging;
using Tiered.Metadata;
using Tiered.Metadata.V1;
using Tiered.Security.Authorization;

namespace Tiered.Broker.Metadata;

/// <summary>
/// Reads tenants, namespace policies and partitioned-topic metadata (JSON) through a watch-fed
/// <see cref="MetadataCache"/>: once warm, a lookup or a topic open reads nothing from the
/// metadata service, a change (through any broker's admin API, or straight to the store) is seen
/// as soon as the watch delivers it, and one made through <see cref="Metadata"/> at once.
/// </summary>
public sealed class PolicyStore : IAsyncDisposable
{
    /// <summary>camelCase, as Pulsar's admin JSON.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly Func<KeyValue, NamespacePolicies> ParseNamespace = kv => Deserialize<NamespacePolicies>(kv.Value.Span) ?? new NamespacePolicies();
    private static readonly Func<KeyValue, TenantInfo> ParseTenant = kv => Deserialize<TenantInfo>(kv.Value.Span) ?? new TenantInfo();
    private static readonly Func<KeyValue, TopicPolicies> ParseTopicPolicies = kv => Deserialize<TopicPolicies>(kv.Value.Span) ?? new TopicPolicies();
    private static readonly Func<KeyValue, ClusterData> ParseCluster = kv => Deserialize<ClusterData>(kv.Value.Span) ?? new ClusterData();
    private static readonly Func<KeyValue, PartitionedTopicMetadata> ParsePartitions = kv => Deserialize<PartitionedTopicMetadata>(kv.Value.Span) ?? new PartitionedTopicMetadata(0);

    private int _disposed;

    public PolicyStore(IMetadataStore metadata, ILogger? logger = null)
    {
        Cache = new MetadataCache(metadata, MetadataPaths.Admin, logger);
        Metadata = new CacheInvalidatingStore(metadata, Cache);
    }

    /// <summary>The metadata service; writes through it to cached keys are seen by this store at once.</summary>
    public IMetadataStore Metadata { get; }

    public MetadataCache Cache { get; }

    /// <summary>The namespace's policies; null when the namespace does not exist.</summary>
    public ValueTask<NamespacePolicies?> GetNamespaceAsync(NamespaceName ns, CancellationToken cancellationToken)
        => Cache.GetAsync(MetadataPaths.Namespace(ns), ParseNamespace, cancellationToken);

    /// <summary>
    /// The namespace's policies; <see cref="BrokerException"/> NamespaceNotFound when it does not
    /// exist, TenantNotFound when its tenant was deleted (so a deleted tenant's topics are no longer served).
    /// </summary>
    public async ValueTask<NamespacePolicies> RequireNamespaceAsync(NamespaceName ns, CancellationToken cancellationToken)
    {
        var policies = await GetNamespaceAsync(ns, cancellationToken).ConfigureAwait(false)
            ?? throw new BrokerException(BrokerErrorCode.NamespaceNotFound, $"Namespace {ns} does not exist; create it with PUT /admin/v2/namespaces/{ns}.");
        if (await Cache.GetAsync(MetadataPaths.Tenant(ns.Tenant), ParseTenant, cancellationToken).ConfigureAwait(false) is null)
            throw new BrokerException(BrokerErrorCode.TenantNotFound, $"Tenant {ns.Tenant} does not exist; create it with PUT /admin/v2/tenants/{ns.Tenant}.");
        return policies;
    }

    /// <summary>
    /// How <paramref name="ns"/> is cut into bundles, from its cached policies; one bundle for a
    /// namespace stored without (or with unreadable) boundaries. NamespaceNotFound when it does not exist.
    /// </summary>
    public async ValueTask<NamespaceBundles> GetBundlesAsync(NamespaceName ns, CancellationToken cancellationToken)
    {
        var policies = await GetNamespaceAsync(ns, cancellationToken).ConfigureAwait(false)
            ?? throw new BrokerException(BrokerErrorCode.NamespaceNotFound, $"Namespace {ns} does not exist; create it with PUT /admin/v2/namespaces/{ns}.");
        return new NamespaceBundles(ns, policies.Bundles?.Parsed);
    }

    /// <summary>The partitions of a partitioned topic; 0 when <paramref name="topic"/> is not partitioned.</summary>
    public async ValueTask<int> GetPartitionsAsync(TopicName topic, CancellationToken cancellationToken)
        => (await Cache.GetAsync(MetadataPaths.PartitionedTopic(topic), ParsePartitions, cancellationToken).ConfigureAwait(false))?.Partitions ?? 0;

    /// <summary>A topic's own policies (a partition's are its base topic's); null when it has none.</summary>
    public ValueTask<TopicPolicies?> GetTopicPoliciesAsync(TopicName topic, CancellationToken cancellationToken)
        => Cache.GetAsync(MetadataPaths.TopicPolicies(topic), ParseTopicPolicies, cancellationToken);

    /// <summary>
    /// Whether producer de-duplication applies to <paramref name="topic"/>: its own policy, else its namespace's,
    /// else <paramref name="brokerDefault"/> (<see cref="BrokerOptions.DeduplicationEnabled"/>). From the cache.
    /// </summary>
    public async ValueTask<bool> IsDeduplicationEnabledAsync(TopicName topic, bool brokerDefault, CancellationToken cancellationToken)
    {
        if ((await GetTopicPoliciesAsync(topic, cancellationToken).ConfigureAwait(false))?.DeduplicationEnabled is { } own)
            return own;
        return (await GetNamespaceAsync(topic.Namespace, cancellationToken).ConfigureAwait(false))?.DeduplicationEnabled ?? brokerDefault;
    }

    /// <summary>A registered cluster's URLs (/admin/clusters/{name}); null when it is not registered. From the cache.</summary>
    public ValueTask<ClusterData?> GetClusterAsync(string cluster, CancellationToken cancellationToken)
        => Cache.GetAsync(MetadataPaths.Cluster(cluster), ParseCluster, cancellationToken);

    /// <summary>The clusters <paramref name="topic"/> is replicated among: its own list, else its namespace's (empty: none stored). From the cache.</summary>
    public async ValueTask<IReadOnlyList<string>> GetReplicationClustersAsync(TopicName topic, CancellationToken cancellationToken)
    {
        if ((await GetTopicPoliciesAsync(topic, cancellationToken).ConfigureAwait(false))?.ReplicationClusters is { } own)
            return own;
        return (await GetNamespaceAsync(topic.Namespace, cancellationToken).ConfigureAwait(false))?.ReplicationClusters ?? [];
    }

    /// <summary>A tenant's record (admin roles, allowed clusters); null when it does not exist. From the cache.</summary>
    public ValueTask<TenantInfo?> GetTenantAsync(string tenant, CancellationToken cancellationToken)
        => Cache.GetAsync(MetadataPaths.Tenant(tenant), ParseTenant, cancellationToken);

    /// <summary>
    /// Who may produce and consume in <paramref name="ns"/> (<see cref="AuthPolicies.Empty"/> when nothing was granted);
    /// null when the namespace does not exist. From the cache: once warm it reads nothing, and a grant or revoke made
    /// through any broker is seen as soon as the watch delivers the namespace's change.
    /// </summary>
    public async ValueTask<AuthPolicies?> GetAuthPoliciesAsync(NamespaceName ns, CancellationToken cancellationToken)
        => await GetNamespaceAsync(ns, cancellationToken).ConfigureAwait(false) is { } policies ? policies.AuthPolicies ?? AuthPolicies.Empty : null;

    /// <summary>
    /// Removes the grants on <paramref name="topic"/> (and, for a partitioned topic, on its partitions) from its namespace's
    /// <c>auth_policies.destination_auth</c>, as Pulsar does when a topic is deleted: a topic created again under the name
    /// starts without them. Namespace-level grants stay. Compare-and-set, retried on a concurrent change; the record is
    /// edited as JSON, so what this broker does not model is kept as it is. Writes nothing when there is nothing to remove.
    /// </summary>
    public async Task RemoveTopicGrantsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var key = MetadataPaths.Namespace(topic.Namespace);
        var name = topic.ToString();
        for (var attempt = 1; ; attempt++)
        {
            var stored = await Metadata.GetAsync(key, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false);
            if (stored is null || JsonNode.Parse(stored.Value.Span) is not JsonObject policies
                || policies["auth_policies"] is not JsonObject auth || auth["destination_auth"] is not JsonObject topics)
                return;
            var stale = topics.Select(t => t.Key).Where(t => t == name || AuthTopic.PartitionedTopicOf(t) == name).ToList();
            if (stale.Count == 0)
                return;
            foreach (var grant in stale)
                topics.Remove(grant);
            // As the admin API stores them: no auth_policies at all once nothing is granted.
            if (auth.All(part => part.Value is JsonObject { Count: 0 }))
                policies.Remove("auth_policies");
            try
            {
                await Metadata.PutAsync(key, JsonSerializer.SerializeToUtf8Bytes(policies), stored.Version, cancellationToken: cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion && attempt < 5)
            {
                // The namespace's policies changed meanwhile: decide again on a fresh read.
            }
        }
    }

    /// <summary>Stores a partitioned topic's metadata; false when it exists already.</summary>
    public async Task<bool> TryCreatePartitionedAsync(TopicName topic, int partitions, CancellationToken cancellationToken)
    {
        try
        {
            await Metadata.PutAsync(MetadataPaths.PartitionedTopic(topic), JsonSerializer.SerializeToUtf8Bytes(new PartitionedTopicMetadata(partitions), Json),
                expectedVersion: -1, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
        {
            return false;
        }
    }

    /// <summary>Reads a stored admin object (camelCase JSON); <see cref="BrokerException"/> Unavailable when it is not valid JSON.</summary>
    public static T? Deserialize<T>(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json);
        }
        catch (JsonException e)
        {
            throw new BrokerException(BrokerErrorCode.Unavailable, $"Stored {typeof(T).Name} is not valid JSON: {e.Message}", e);
        }
    }

    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _disposed, 1) == 0 ? Cache.DisposeAsync() : ValueTask.CompletedTask;
}
