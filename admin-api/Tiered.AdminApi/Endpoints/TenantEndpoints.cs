using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.AdminApi.Endpoints;

/// <summary>/admin/v2/tenants: tenants, their admin roles and the clusters their namespaces may use.</summary>
internal static class TenantEndpoints
{
    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        var tenants = admin.MapGroup("/tenants").WithTags("tenants");
        tenants.MapGet("", (CancellationToken ct) => ListAsync(context, ct))
            .WithSummary("Names of the tenants.");
        tenants.MapGet("/{tenant}", (string tenant, CancellationToken ct) => GetAsync(context, tenant, ct))
            .WithSummary("A tenant's admin roles and allowed clusters.");
        tenants.MapPut("/{tenant}", (string tenant, HttpRequest request, CancellationToken ct) => CreateAsync(context, tenant, request, ct))
            .Accepts<TenantInfo>("application/json")
            .WithSummary("Creates a tenant; its allowed clusters must exist; 409 when it exists.");
        tenants.MapPost("/{tenant}", (string tenant, HttpRequest request, CancellationToken ct) => UpdateAsync(context, tenant, request, ct))
            .Accepts<TenantInfo>("application/json")
            .WithSummary("Changes a tenant; a cluster its namespaces replicate to cannot be removed.");
        tenants.MapDelete("/{tenant}", (string tenant, CancellationToken ct) => DeleteAsync(context, tenant, ct))
            .WithSummary("Deletes a tenant; 409 while it has namespaces.");
    }

    private static async Task<Ok<IReadOnlyList<string>>> ListAsync(AdminContext context, CancellationToken ct)
        => TypedResults.Ok(await context.Store.ChildrenAsync(MetadataPaths.Tenants, ct).ConfigureAwait(false));

    private static async Task<Ok<TenantInfo>> GetAsync(AdminContext context, string tenant, CancellationToken ct)
    {
        var name = AdminNames.Tenant(tenant);
        var stored = await context.Store.GetAsync<TenantInfo>(MetadataPaths.Tenant(name), ct).ConfigureAwait(false) ?? throw NotFound(name);
        return TypedResults.Ok(stored.Value);
    }

    private static async Task<NoContent> CreateAsync(AdminContext context, string tenant, HttpRequest request, CancellationToken ct)
    {
        var name = AdminNames.Tenant(tenant);
        var info = (await AdminJson.ReadBodyAsync<TenantInfo>(request, required: true, ct).ConfigureAwait(false))!;
        await AdminStore.RetryOnConflictAsync($"Tenant {name}", async token =>
        {
            if (await context.Store.ExistsAsync(MetadataPaths.Tenant(name), token).ConfigureAwait(false))
                throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Tenant {name} already exists.");
            var clusters = await AllowedClustersAsync(context, info, token).ConfigureAwait(false);
            await context.Store.TxnAsync([AdminStore.Put(MetadataPaths.Tenant(name), info, -1), .. clusters.Select(AdminStore.Touch)], token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> UpdateAsync(AdminContext context, string tenant, HttpRequest request, CancellationToken ct)
    {
        var name = AdminNames.Tenant(tenant);
        var info = (await AdminJson.ReadBodyAsync<TenantInfo>(request, required: true, ct).ConfigureAwait(false))!;
        await AdminStore.RetryOnConflictAsync($"Tenant {name}", async token =>
        {
            var stored = await context.Store.GetAsync<TenantInfo>(MetadataPaths.Tenant(name), token).ConfigureAwait(false) ?? throw NotFound(name);
            var clusters = await AllowedClustersAsync(context, info, token).ConfigureAwait(false);
            var removed = stored.Value.AllowedClusters.Except(info.AllowedClusters, StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal);
            if (removed.Count > 0)
            {
                // A namespace's list, and a topic's own list (which overrides its namespace's), may only name allowed clusters.
                foreach (var cluster in removed.Order(StringComparer.Ordinal))
                {
                    var users = await ReplicationClusterRules.UsersAsync(context.Store, name, c => c == cluster, token).ConfigureAwait(false);
                    if (users.Count > 0)
                        throw new BrokerException(BrokerErrorCode.Conflict,
                            $"Cluster {cluster} cannot be removed from tenant {name}: {string.Join(", ", users)} replicate{(users.Count == 1 ? "s" : "")} to it; remove it from their replication clusters first.");
                }
            }
            // Namespaces created and replication lists set meanwhile touch the tenant, so this put fails and the check above runs again.
            await context.Store.TxnAsync([AdminStore.Put(MetadataPaths.Tenant(name), info, stored.Version), .. clusters.Select(AdminStore.Touch)], token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> DeleteAsync(AdminContext context, string tenant, CancellationToken ct)
    {
        var name = AdminNames.Tenant(tenant);
        await AdminStore.RetryOnConflictAsync($"Tenant {name}", async token =>
        {
            var stored = await context.Store.GetAsync<TenantInfo>(MetadataPaths.Tenant(name), token).ConfigureAwait(false) ?? throw NotFound(name);
            var namespaces = await context.Store.ChildrenAsync(MetadataPaths.TenantPolicies(name), token).ConfigureAwait(false);
            if (namespaces.Count > 0)
                throw new BrokerException(BrokerErrorCode.Conflict, $"Tenant {name} has namespaces: {string.Join(", ", namespaces.Select(ns => $"{name}/{ns}"))}; delete them first.");
            await context.Store.Metadata.DeleteAsync(MetadataPaths.Tenant(name), stored.Version, token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    /// <summary>The stored clusters a tenant names; refuses an empty list (as Pulsar does) and unknown clusters.</summary>
    private static async Task<List<KeyValue>> AllowedClustersAsync(AdminContext context, TenantInfo info, CancellationToken ct)
    {
        if (info.AllowedClusters.Count == 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, "A tenant needs at least one cluster in allowedClusters.");
        var stored = new List<KeyValue>();
        foreach (var cluster in info.AllowedClusters.Distinct(StringComparer.Ordinal))
        {
            AdminNames.Cluster(cluster);
            var kv = await context.Store.Metadata.GetAsync(MetadataPaths.Cluster(cluster), cancellationToken: ct).ConfigureAwait(false)
                ?? throw new BrokerException(BrokerErrorCode.BadRequest, $"Cluster {cluster} in allowedClusters does not exist; register it first (PUT /admin/v2/clusters/{cluster}).");
            stored.Add(kv);
        }
        return stored;
    }

    internal static BrokerException NotFound(string tenant) => new(BrokerErrorCode.TenantNotFound, $"Tenant {tenant} does not exist.");
}
