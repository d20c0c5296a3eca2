using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// /admin/v2/namespaces/{tenant}/{namespace}/replication: the clusters the namespace lives in (geo-replication),
/// Pulsar's <c>replication_clusters</c>. Checked by <see cref="ReplicationClusterRules"/>; stored with the
/// namespace's other policies by compare-and-set, together with an unchanged rewrite of the tenant and of
/// each named cluster, so that a concurrent deletion of one of them or narrowing of the tenant cannot slip past.
/// </summary>
internal static partial class NamespaceEndpoints
{
    private static void MapReplication(RouteGroupBuilder namespaces, AdminContext context)
    {
        const string route = "/{tenant}/{namespace}/replication";
        namespaces.MapGet(route, async Task<Ok<List<string>>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), ct).ConfigureAwait(false) ?? throw NotFound(name);
            return TypedResults.Ok(stored.Value.ReplicationClusters);
        }).WithSummary("The clusters the namespace is replicated to (its replication_clusters).");

        namespaces.MapPost(route, async Task<NoContent> (string tenant, string @namespace, HttpRequest request, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            var clusters = await ReplicationClusterRules.ReadAsync(request, ct).ConfigureAwait(false);
            await AdminStore.RetryOnConflictAsync($"Namespace {name}", async token =>
            {
                var owner = await context.Store.GetAsync<TenantInfo>(MetadataPaths.Tenant(name.Tenant), token).ConfigureAwait(false) ?? throw TenantEndpoints.NotFound(name.Tenant);
                var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), token).ConfigureAwait(false) ?? throw NotFound(name);
                var touches = await ReplicationClusterRules.CheckAsync(context, $"namespace {name}", name.Tenant, owner, clusters, token).ConfigureAwait(false);
                await context.Store.TxnAsync(
                    [AdminStore.Put(MetadataPaths.Namespace(name), stored.Value with { ReplicationClusters = clusters }, stored.Version), .. touches], token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<List<string>>("application/json")
            .WithSummary("Sets the clusters the namespace is replicated to (a JSON array of cluster names). It must include this broker's cluster (else 412, as an empty list); "
                + "each must be registered (/admin/v2/clusters) and in the tenant's allowedClusters (else 403).");
    }
}
