using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Security.Authorization;

namespace Tiered.AdminApi.Endpoints;

/// <summary>/admin/v2/namespaces/{tenant}[/{namespace}]: namespaces and their whole policies.</summary>
internal static partial class NamespaceEndpoints
{
    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        var namespaces = admin.MapGroup("/namespaces").WithTags("namespaces");
        namespaces.MapGet("/{tenant}", (string tenant, CancellationToken ct) => ListAsync(context, tenant, ct))
            .WithSummary("The tenant's namespaces, as \"tenant/namespace\".");
        namespaces.MapPut("/{tenant}/{namespace}", (string tenant, string @namespace, HttpRequest request, CancellationToken ct) => CreateAsync(context, tenant, @namespace, request, ct))
            .Accepts<NamespacePolicies>(isOptional: true, "application/json")
            .WithSummary("Creates a namespace, optionally with policies; the tenant must exist; 409 when it exists. Its bundles: bundles.numBundles (or a top-level numBundles, 1 to 1024) or bundles.boundaries, else the broker's --default-bundles.");
        namespaces.MapGet("/{tenant}/{namespace}", (string tenant, string @namespace, CancellationToken ct) => GetAsync(context, tenant, @namespace, ct))
            .WithSummary("The namespace's policies, bundles included (one bundle for a namespace stored before bundles existed).");
        namespaces.MapDelete("/{tenant}/{namespace}", (string tenant, string @namespace, CancellationToken ct) => DeleteAsync(context, tenant, @namespace, ct))
            .WithSummary("Deletes a namespace with its topics' policies; 409 while it has topics.");
        MapPolicies(namespaces, context);
        MapBacklogQuotas(namespaces, context);
        MapReplication(namespaces, context);
        MapTopics(namespaces, context);
        MapPermissions(namespaces, context);
    }

    private static async Task<Ok<List<string>>> ListAsync(AdminContext context, string tenant, CancellationToken ct)
    {
        var name = AdminNames.Tenant(tenant);
        if (!await context.Store.ExistsAsync(MetadataPaths.Tenant(name), ct).ConfigureAwait(false))
            throw TenantEndpoints.NotFound(name);
        var children = await context.Store.ChildrenAsync(MetadataPaths.TenantPolicies(name), ct).ConfigureAwait(false);
        return TypedResults.Ok(children.Select(ns => $"{name}/{ns}").ToList());
    }

    private static async Task<NoContent> CreateAsync(AdminContext context, string tenant, string @namespace, HttpRequest request, CancellationToken ct)
    {
        var name = AdminNames.Namespace(tenant, @namespace);
        var body = await AdminJson.ReadRawBodyAsync(request, ct).ConfigureAwait(false);
        var policies = AdminJson.Parse<NamespacePolicies>(body, required: false) ?? new NamespacePolicies();
        NamespacePolicyRules.Validate(policies);
        PermissionRules.Validate(name, policies.AuthPolicies);
        // Decided before anything is stored: a refused count creates nothing.
        var bundles = NamespacePolicyRules.BundlesAtCreation(name, policies.Bundles, AdminJson.Parse<NamespaceCreation>(body, required: false)?.NumBundles,
            context.Options.DefaultBundles);
        policies = policies with { Bundles = bundles };
        await AdminStore.RetryOnConflictAsync($"Namespace {name}", async token =>
        {
            var owner = await context.Store.GetAsync<TenantInfo>(MetadataPaths.Tenant(name.Tenant), token).ConfigureAwait(false) ?? throw TenantEndpoints.NotFound(name.Tenant);
            if (await context.Store.ExistsAsync(MetadataPaths.Namespace(name), token).ConfigureAwait(false))
                throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Namespace {name} already exists.");
            var toStore = policies;
            if (toStore.ReplicationClusters.Count == 0 && context.Options.ClusterName is { } local)
                toStore = toStore with { ReplicationClusters = [local] };
            var notAllowed = toStore.ReplicationClusters.Where(c => !owner.Value.AllowedClusters.Contains(c, StringComparer.Ordinal)).ToList();
            if (notAllowed.Count > 0)
                throw new BrokerException(BrokerErrorCode.BadRequest,
                    $"Namespace {name} cannot replicate to {string.Join(", ", notAllowed)}: tenant {name.Tenant} allows only [{string.Join(", ", owner.Value.AllowedClusters)}].");
            // Touching the tenant makes a concurrent delete of the tenant (decided on "no namespaces") fail its compare-and-set.
            await context.Store.TxnAsync([AdminStore.Put(MetadataPaths.Namespace(name), toStore, -1), AdminStore.Touch(owner.Stored)], token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<NamespacePolicies>> GetAsync(AdminContext context, string tenant, string @namespace, CancellationToken ct)
    {
        var name = AdminNames.Namespace(tenant, @namespace);
        var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), ct).ConfigureAwait(false) ?? throw NotFound(name);
        // The bundles the broker uses: one for a namespace stored before bundles existed (its record is not rewritten);
        // auth_policies always, empty when nothing was granted, as Pulsar shows them.
        var policies = stored.Value with { AuthPolicies = stored.Value.AuthPolicies ?? AuthPolicies.Empty };
        return TypedResults.Ok(policies.Bundles?.Parsed is null
            ? policies with { Bundles = new NamespaceBundles(name, null).ToData() }
            : policies);
    }

    private static async Task<NoContent> DeleteAsync(AdminContext context, string tenant, string @namespace, CancellationToken ct)
    {
        var name = AdminNames.Namespace(tenant, @namespace);
        var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), ct).ConfigureAwait(false) ?? throw NotFound(name);
        var topics = await context.Topics.ListTopicsAsync(name, ct).ConfigureAwait(false);
        var partitioned = await context.Topics.ListPartitionedTopicsAsync(name, ct).ConfigureAwait(false);
        var all = partitioned.Concat(topics).Distinct(StringComparer.Ordinal).ToList();
        if (all.Count > 0)
            throw new BrokerException(BrokerErrorCode.Conflict, $"Cannot delete namespace {name}: namespace has topics: {string.Join(", ", all)}; delete them first.");
        // Policies of its deleted topics go with it: each topic's deletion removes its own, these are what a
        // deletion interrupted midway (or a topic gone by other means) left behind.
        var leftovers = await context.Store.Metadata.ListAsync(TopicPoliciesOf(name) + "/", Metadata.ReadConsistency.Linearizable, ct).ConfigureAwait(false);
        try
        {
            if (leftovers.Count == 0)
                await context.Store.Metadata.DeleteAsync(MetadataPaths.Namespace(name), stored.Version, ct).ConfigureAwait(false);
            else
                await context.Store.TxnAsync([AdminStore.Delete(MetadataPaths.Namespace(name), stored.Version), .. leftovers.Select(kv => AdminStore.Delete(kv.Key, kv.Version))], ct).ConfigureAwait(false);
        }
        catch (Metadata.MetadataException e) when (e.Code == Metadata.MetadataErrorCode.BadVersion)
        {
            throw new BrokerException(BrokerErrorCode.VersionConflict, $"Namespace {name} was changed while it was being deleted; try again.", e);
        }
        return TypedResults.NoContent();
    }

    /// <summary>Throws NamespaceNotFound unless the namespace exists; for endpoints that act on its topics.</summary>
    internal static async Task EnsureExistsAsync(AdminContext context, NamespaceName name, CancellationToken ct)
    {
        if (!await context.Store.ExistsAsync(MetadataPaths.Namespace(name), ct).ConfigureAwait(false))
            throw NotFound(name);
    }

    /// <summary>/admin/topic-policies/{tenant}/{namespace}: parent of the policies of the namespace's topics (<see cref="MetadataPaths.TopicPolicies"/>).</summary>
    internal static string TopicPoliciesOf(NamespaceName name) => $"{MetadataPaths.TopicPoliciesRoot}/{name.Tenant}/{name.Namespace}";

    internal static BrokerException NotFound(NamespaceName name) => new(BrokerErrorCode.NamespaceNotFound, $"Namespace {name} does not exist.");
}

/// <summary>What a namespace's creation body may carry beside its policies: Pulsar's top-level numBundles.</summary>
internal sealed record NamespaceCreation
{
    public int? NumBundles { get; init; }
}
