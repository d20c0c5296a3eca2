using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// A namespace's backlog quotas, Pulsar's way: one quota per type (destination_storage, message_age) in the policies'
/// backlog_quota_map; GET …/backlogQuotaMap (also …/backlogQuota) answers the map, POST …/backlogQuota?backlogQuotaType=
/// sets one type (destination_storage when the parameter is absent, as Pulsar), DELETE with the type removes it.
/// A refused value changes nothing stored.
/// </summary>
internal static partial class NamespaceEndpoints
{
    private const string BacklogQuotaSummary =
        "Backlog quota: {\"limitSize\": bytes} (backlogQuotaType=destination_storage) or {\"limitTime\": seconds} (backlogQuotaType=message_age), "
        + "with \"policy\": producer_request_hold, producer_exception or consumer_backlog_eviction.";

    private static void MapBacklogQuotas(RouteGroupBuilder namespaces, AdminContext context)
    {
        foreach (var path in (string[])["backlogQuotaMap", "backlogQuota"])
        {
            namespaces.MapGet($"/{{tenant}}/{{namespace}}/{path}", async Task<Ok<Dictionary<string, BacklogQuota>>> (string tenant, string @namespace, CancellationToken ct) =>
            {
                var name = AdminNames.Namespace(tenant, @namespace);
                var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), ct).ConfigureAwait(false) ?? throw NotFound(name);
                return TypedResults.Ok(stored.Value.BacklogQuotaMap ?? []);
            }).WithSummary("The namespace's backlog quotas by type ({} when none is set).");
        }

        namespaces.MapMethods("/{tenant}/{namespace}/backlogQuota", ["POST", "PUT"],
            async Task<NoContent> (string tenant, string @namespace, string? backlogQuotaType, HttpRequest request, CancellationToken ct) =>
            {
                var name = AdminNames.Namespace(tenant, @namespace);
                var type = NamespacePolicyRules.BacklogQuotaType(backlogQuotaType);
                var quota = NamespacePolicyRules.ValidateBacklogQuota(type, (await AdminJson.ReadBodyAsync<BacklogQuota>(request, required: true, ct).ConfigureAwait(false))!);
                await context.Store.UpdateAsync<NamespacePolicies>(MetadataPaths.Namespace(name), $"Namespace {name}", () => NotFound(name),
                    p => p with { BacklogQuotaMap = new Dictionary<string, BacklogQuota>(p.BacklogQuotaMap ?? [], StringComparer.Ordinal) { [type] = quota } }, ct).ConfigureAwait(false);
                return TypedResults.NoContent();
            }).Accepts<BacklogQuota>("application/json").WithSummary($"Sets one type's {BacklogQuotaSummary}");

        namespaces.MapDelete("/{tenant}/{namespace}/backlogQuota", async Task<NoContent> (string tenant, string @namespace, string? backlogQuotaType, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            var type = NamespacePolicyRules.BacklogQuotaType(backlogQuotaType);
            await context.Store.UpdateAsync<NamespacePolicies>(MetadataPaths.Namespace(name), $"Namespace {name}", () => NotFound(name), p =>
            {
                if (p.BacklogQuotaMap is not { } map || !map.ContainsKey(type))
                    return p;
                var left = new Dictionary<string, BacklogQuota>(map, StringComparer.Ordinal);
                left.Remove(type);
                return p with { BacklogQuotaMap = left.Count == 0 ? null : left };
            }, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Removes the namespace's backlog quota of backlogQuotaType (destination_storage when absent); 204 also when none was set.");
    }
}
