using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// …/persistent/{tenant}/{namespace}/{topic}/replication: the topic's own replication clusters (Pulsar's
/// topic-level <c>replication_clusters</c>), overriding its namespace's; a partition's are its partitioned topic's.
/// Checked as a namespace's list is (<see cref="ReplicationClusterRules"/>). GET answers 204 while the topic sets
/// none; ?applied=true answers the list that applies: the topic's, else its namespace's.
/// </summary>
internal static partial class TopicEndpoints
{
    private static void MapTopicReplication(RouteGroupBuilder persistent, AdminContext context)
    {
        const string route = Topic + "/replication";
        persistent.MapGet(route, async Task<Results<Ok<List<string>>, NoContent>> (string tenant, string @namespace, string topic, string? applied, CancellationToken ct) =>
        {
            var resolve = AdminNames.Flag(applied, "applied");
            var name = await ExistingTopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var own = await context.Store.GetAsync<TopicPolicies>(MetadataPaths.TopicPolicies(name), ct).ConfigureAwait(false);
            if (own?.Value.ReplicationClusters is { } clusters)
                return TypedResults.Ok(clusters);
            if (!resolve)
                return TypedResults.NoContent();
            var ns = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name.Namespace), ct).ConfigureAwait(false);
            return TypedResults.Ok(ns?.Value.ReplicationClusters ?? []);
        }).WithSummary("The topic's own replication clusters; 204 while it sets none (its namespace's apply); ?applied=true: the list that applies (the topic's, else its namespace's).");

        persistent.MapPost(route, async Task<NoContent> (string tenant, string @namespace, string topic, HttpRequest request, CancellationToken ct) =>
        {
            // The body is judged before anything is looked up: a bad one is a 400 whether or not the topic exists.
            var clusters = await ReplicationClusterRules.ReadAsync(request, ct).ConfigureAwait(false);
            var name = await ExistingTopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var what = $"topic {name.PartitionedTopic}";
            await UpdateTopicPoliciesAsync(context, name, p => p with { ReplicationClusters = clusters }, ct, async token =>
            {
                var owner = await context.Store.GetAsync<TenantInfo>(MetadataPaths.Tenant(name.Namespace.Tenant), token).ConfigureAwait(false)
                    ?? throw TenantEndpoints.NotFound(name.Namespace.Tenant);
                return await ReplicationClusterRules.CheckAsync(context, what, name.Namespace.Tenant, owner, clusters, token).ConfigureAwait(false);
            }).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<List<string>>("application/json")
            .WithSummary("Sets the topic's own replication clusters (a JSON array of cluster names), over its namespace's; checked as the namespace's list (412 without this broker's cluster or empty, "
                + "403 for a cluster not registered or not allowed for the tenant); the topic must exist.");

        persistent.MapDelete(route, async Task<NoContent> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await ExistingTopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await UpdateTopicPoliciesAsync(context, name, p => p with { ReplicationClusters = null }, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Unsets the topic's own replication clusters: its namespace's apply again.");
    }
}
