using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.AdminApi;

/// <summary>
/// Checks of a replication cluster list (a namespace's <c>replication_clusters</c> or a topic's override), with
/// Pulsar's statuses: a body that is not a JSON list of cluster names is 400; an empty list, or one without this
/// broker's own cluster, is 412 (a cluster's brokers serve only the namespaces that live in it); a cluster that is
/// not registered, or that the tenant's <c>allowedClusters</c> does not name, is 403.
/// </summary>
internal static class ReplicationClusterRules
{
    /// <summary>The body as cluster names, in order and without repeats; 400 with the reason for anything else.</summary>
    public static List<string> Parse(ReadOnlyMemory<byte> body)
    {
        var clusters = AdminJson.Parse<List<string?>>(body, required: true)!;
        var names = new List<string>();
        foreach (var cluster in clusters)
        {
            if (cluster is null)
                throw new BrokerException(BrokerErrorCode.BadRequest, "Invalid replication clusters: expected a JSON array of cluster names such as [\"east\",\"west\"], not null.");
            if (!names.Contains(AdminNames.Cluster(cluster), StringComparer.Ordinal))
                names.Add(cluster);
        }
        return names;
    }

    /// <summary>Reads the body of a POST …/replication.</summary>
    public static async Task<List<string>> ReadAsync(Microsoft.AspNetCore.Http.HttpRequest request, CancellationToken ct)
        => Parse(await AdminJson.ReadRawBodyAsync(request, ct).ConfigureAwait(false));

    /// <summary>
    /// Refuses a list that cannot be stored for a namespace of <paramref name="tenant"/>; returns the operations
    /// that rewrite the tenant and the named clusters unchanged (<see cref="AdminStore.Touch"/>), to be written with the
    /// list: a cluster deleted or a tenant's allowedClusters narrowed meanwhile then fails the write, which is decided again.
    /// </summary>
    public static async Task<List<TxnOp>> CheckAsync(AdminContext context, string what, string tenantName, Versioned<TenantInfo> tenant, IReadOnlyList<string> clusters, CancellationToken ct)
    {
        if (clusters.Count == 0)
            throw AdminRefusalException.PreconditionFailed($"Invalid replication clusters for {what}: the list is empty; give at least this cluster ({context.Options.ClusterName ?? "its own"}).");
        if (context.Options.ClusterName is { } local && !clusters.Contains(local, StringComparer.Ordinal))
            throw AdminRefusalException.PreconditionFailed(
                $"Invalid replication clusters for {what}: the list must include the local cluster {local} (this broker's cluster); to stop replicating to another cluster, leave that one out instead.");
        var touches = new List<TxnOp> { AdminStore.Touch(tenant.Stored) };
        foreach (var cluster in clusters)
        {
            var stored = await context.Store.Metadata.GetAsync(MetadataPaths.Cluster(cluster), ReadConsistency.Linearizable, ct).ConfigureAwait(false)
                ?? throw AdminRefusalException.ClusterNotAllowed(
                    $"Invalid cluster id: {cluster} is not registered in this cluster's metadata; register it first (PUT /admin/v2/clusters/{cluster} with its serviceUrl and brokerServiceUrl).");
            if (!tenant.Value.AllowedClusters.Contains(cluster, StringComparer.Ordinal))
                throw AdminRefusalException.ClusterNotAllowed(
                    $"Cluster {cluster} is not in the allowedClusters of tenant {tenantName} ({string.Join(", ", tenant.Value.AllowedClusters)}); add it to the tenant first (POST /admin/v2/tenants/…).");
            touches.Add(AdminStore.Touch(stored));
        }
        return touches;
    }

    /// <summary>
    /// Where a cluster is still named in a replication list: "namespace t/ns" or "topic persistent://t/ns/x",
    /// from the stored namespace policies and topic policies (of one tenant, or of all when null).
    /// </summary>
    public static async Task<List<string>> UsersAsync(AdminStore store, string? tenant, Func<string, bool> named, CancellationToken ct)
    {
        var users = new List<string>();
        var policiesPrefix = tenant is null ? MetadataPaths.Policies + "/" : MetadataPaths.TenantPolicies(tenant) + "/";
        foreach (var kv in await store.Metadata.ListAsync(policiesPrefix, ReadConsistency.Linearizable, ct).ConfigureAwait(false))
        {
            var rest = kv.Key[(MetadataPaths.Policies.Length + 1)..];
            if (rest.Count(c => c == '/') != 1)
                continue;
            if (AdminJson.Deserialize<NamespacePolicies>(kv).ReplicationClusters.FirstOrDefault(named) is not null)
                users.Add($"namespace {rest}");
        }
        var topicsPrefix = MetadataPaths.TopicPoliciesRoot + "/" + (tenant is null ? "" : tenant + "/");
        foreach (var kv in await store.Metadata.ListAsync(topicsPrefix, ReadConsistency.Linearizable, ct).ConfigureAwait(false))
        {
            // {tenant}/{namespace}/persistent/{topic}
            var parts = kv.Key[(MetadataPaths.TopicPoliciesRoot.Length + 1)..].Split('/', 4);
            if (parts.Length != 4)
                continue;
            if (AdminJson.Deserialize<TopicPolicies>(kv).ReplicationClusters?.FirstOrDefault(named) is not null)
                users.Add($"topic {parts[2]}://{parts[0]}/{parts[1]}/{parts[3]}");
        }
        return users;
    }
}
