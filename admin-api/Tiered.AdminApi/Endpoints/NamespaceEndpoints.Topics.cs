using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Tiered.AdminApi.Endpoints;

/// <summary>…/namespaces/{tenant}/{namespace}/topics and …/clearBacklog: what a namespace's topics hold.</summary>
internal static partial class NamespaceEndpoints
{
    private static void MapTopics(RouteGroupBuilder namespaces, AdminContext context)
    {
        namespaces.MapGet("/{tenant}/{namespace}/topics", async Task<Ok<IReadOnlyList<string>>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            await EnsureExistsAsync(context, name, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.ListTopicsAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("The namespace's topics, partitions of partitioned topics included.");

        namespaces.MapPost("/{tenant}/{namespace}/clearBacklog", async Task<NoContent> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            await EnsureExistsAsync(context, name, ct).ConfigureAwait(false);
            await context.Topics.ClearNamespaceBacklogAsync(name, null, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Acknowledges every message of every subscription of every topic of the namespace.");

        namespaces.MapPost("/{tenant}/{namespace}/clearBacklog/{subscription}", async Task<NoContent> (string tenant, string @namespace, string subscription, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            var sub = AdminNames.Subscription(subscription);
            await EnsureExistsAsync(context, name, ct).ConfigureAwait(false);
            await context.Topics.ClearNamespaceBacklogAsync(name, sub, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Acknowledges every message of this subscription on every topic of the namespace that has it.");
    }
}
