using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Security.Authorization;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// Pulsar's topic-level permissions, kept in the namespace's <c>auth_policies.destination_auth</c> under the full
/// topic name. As in Pulsar a grant may name a topic that does not exist yet (producers create topics by using
/// them); a grant on a partitioned topic covers its partitions. GET answers what applies to the topic: the
/// namespace's grants united with the topic's (and, for a partition, its partitioned topic's).
/// </summary>
/// <remarks>Stored only: requests are not checked against these permissions yet (docs/authorization.md).</remarks>
internal static partial class TopicEndpoints
{
    private static void MapPermissions(RouteGroupBuilder persistent, AdminContext context)
    {
        var permissions = persistent.MapGroup("").WithTags("permissions");
        permissions.MapGet(Topic + "/permissions", async Task<Ok<IReadOnlyDictionary<string, IReadOnlyList<string>>>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = AdminNames.Topic(tenant, @namespace, topic);
            var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name.Namespace), ct).ConfigureAwait(false)
                ?? throw NamespaceEndpoints.NotFound(name.Namespace);
            return TypedResults.Ok((stored.Value.AuthPolicies ?? AuthPolicies.Empty).PermissionsOn(name.ToString()));
        }).WithSummary("The roles that may act on the topic and how: the namespace's grants united with the topic's own (and its partitioned topic's), {role: [actions]}.");

        permissions.MapPost(Topic + "/permissions/{role}", async Task<NoContent> (string tenant, string @namespace, string topic, string role, HttpRequest request, CancellationToken ct) =>
        {
            var name = AdminNames.Topic(tenant, @namespace, topic);
            PermissionRules.Role(role);
            var actions = PermissionRules.Actions(await AdminJson.ReadBodyAsync<List<string?>>(request, required: true, ct).ConfigureAwait(false));
            await NamespaceEndpoints.UpdateAuthAsync(context, name.Namespace, auth => auth.WithTopicGrant(name.ToString(), role, actions), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<List<string>>("application/json")
          .WithSummary("Grants the role these actions on this topic only (body: [\"produce\",\"consume\"], either or both), replacing its grant on the topic; on a partitioned topic it covers every partition. The topic need not exist yet.");

        permissions.MapDelete(Topic + "/permissions/{role}", async Task<NoContent> (string tenant, string @namespace, string topic, string role, CancellationToken ct) =>
        {
            var name = AdminNames.Topic(tenant, @namespace, topic);
            PermissionRules.Role(role);
            var full = name.ToString();
            await NamespaceEndpoints.UpdateAuthAsync(context, name.Namespace, auth =>
            {
                if (!auth.DestinationAuth.TryGetValue(full, out var grants) || !grants.ContainsKey(role))
                    throw AdminRefusalException.PreconditionFailed(
                        $"Role {Names.Quote(role)} has no permissions set on topic {full} itself; a namespace-level grant is revoked with DELETE /admin/v2/namespaces/{name.Namespace}/permissions/{role}.");
                return auth.WithoutTopicGrant(full, role);
            }, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Revokes the role's grant on this topic (namespace-level grants stay); 412 when the role has none on the topic itself, as Pulsar.");
    }
}
