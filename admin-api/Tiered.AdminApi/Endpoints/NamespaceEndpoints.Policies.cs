using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// One policy of a namespace: GET answers 204 while it is unset (the broker default applies), as
/// Pulsar does; POST (or PUT, which Pulsar uses for some) sets it; DELETE unsets it. Writes are compare-and-set on the stored version.
/// </summary>
internal static partial class NamespaceEndpoints
{
    private static void MapPolicies(RouteGroupBuilder namespaces, AdminContext context)
    {
        MapPolicy(namespaces, context, "retention", "Retention of acknowledged messages.",
            p => p.RetentionPolicies,
            (p, value) => p with { RetentionPolicies = value },
            NamespacePolicyRules.Validate);
        MapPolicy<int?>(namespaces, context, "messageTTL", "Seconds after which unacknowledged messages expire (a bare integer).",
            p => p.MessageTtlInSeconds,
            (p, value) => p with { MessageTtlInSeconds = value },
            value => NamespacePolicyRules.ValidateMessageTtl(value!.Value));
        MapPolicy(namespaces, context, "autoTopicCreation", "Whether producers and consumers create topics by using them.",
            p => p.AutoTopicCreationOverride,
            (p, value) => p with { AutoTopicCreationOverride = value },
            NamespacePolicyRules.Validate);
        MapPolicy<long?>(namespaces, context, "offloadThreshold", "Bytes of a topic kept on the bookies before older ledgers are offloaded: -1 off, 0 every closed ledger (a bare integer).",
            p => p.OffloadThreshold,
            (p, value) => p with { OffloadThreshold = value },
            value => NamespacePolicyRules.ValidateOffloadThreshold(value!.Value));
        foreach (var path in (string[])["offloadDeletionLag", "offloadDeletionLagMs"])
        {
            MapPolicy<long?>(namespaces, context, path, "Milliseconds the bookies keep a ledger after it is offloaded (a bare integer).",
                p => p.OffloadDeletionLagMs,
                (p, value) => p with { OffloadDeletionLagMs = value },
                value => NamespacePolicyRules.ValidateOffloadDeletionLag(value!.Value));
        }
        MapPolicy<bool?>(namespaces, context, "deduplication",
            "Producer de-duplication of the namespace's topics (a bare true or false): a batch a producer sends again is stored once. Unset: the broker's --deduplication-enabled (on).",
            p => p.DeduplicationEnabled,
            (p, value) => p with { DeduplicationEnabled = value },
            _ => { });
        MapPolicy(namespaces, context, "offloadPolicies", "The object store the namespace's topics offload to: driver (filesystem or aws-s3), bucket, endpoint, region, prefix, directory.",
            p => p.OffloadPolicies,
            (p, value) => p with { OffloadPolicies = value },
            NamespacePolicyRules.Validate);
    }

    private static void MapPolicy<T>(RouteGroupBuilder namespaces, AdminContext context, string policy, string summary,
        Func<NamespacePolicies, T?> get, Func<NamespacePolicies, T?, NamespacePolicies> set, Action<T> validate)
    {
        var route = $"/{{tenant}}/{{namespace}}/{policy}";
        namespaces.MapGet(route, async Task<Results<Ok<T>, NoContent>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), ct).ConfigureAwait(false) ?? throw NotFound(name);
            return get(stored.Value) is { } value ? TypedResults.Ok(value) : TypedResults.NoContent();
        }).WithSummary($"{summary} 204 while unset.");

        namespaces.MapMethods(route, ["POST", "PUT"], async Task<NoContent> (string tenant, string @namespace, HttpRequest request, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            var value = (await AdminJson.ReadBodyAsync<T>(request, required: true, ct).ConfigureAwait(false))!;
            validate(value);
            await context.Store.UpdateAsync<NamespacePolicies>(MetadataPaths.Namespace(name), $"Namespace {name}", () => NotFound(name), p => set(p, value), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts(typeof(T), "application/json").WithSummary($"Sets: {summary}");

        namespaces.MapDelete(route, async Task<NoContent> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            await context.Store.UpdateAsync<NamespacePolicies>(MetadataPaths.Namespace(name), $"Namespace {name}", () => NotFound(name), p => set(p, default), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary($"Unsets (back to the broker default): {summary}");
    }
}
