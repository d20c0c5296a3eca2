using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker.Admin;

namespace Tiered.AdminApi.Endpoints;

/// <summary>…/{topic}/subscriptions and …/{topic}/subscription/{subscription}[/…]: durable subscriptions and their cursors.</summary>
internal static partial class TopicEndpoints
{
    private const string Subscription = Topic + "/subscription/{subscription}";

    private static void MapSubscriptions(RouteGroupBuilder persistent, AdminContext context)
    {
        persistent.MapGet(Topic + "/subscriptions", async Task<Ok<IReadOnlyList<string>>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.ListSubscriptionsAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("Names of the topic's subscriptions.");

        persistent.MapPut(Subscription, async Task<NoContent> (string tenant, string @namespace, string topic, string subscription, HttpRequest request, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var sub = AdminNames.Subscription(subscription);
            var start = await AdminJson.ReadBodyAsync<MessageIdData>(request, required: false, ct).ConfigureAwait(false);
            await context.Topics.CreateSubscriptionAsync(name, sub, start, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<MessageIdData>(isOptional: true, "application/json")
            .WithSummary("Creates a durable subscription at the given message id, or after the last message without a body; 409 when it exists.");

        persistent.MapDelete(Subscription, async Task<NoContent> (string tenant, string @namespace, string topic, string subscription, string? force, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await context.Topics.DeleteSubscriptionAsync(name, AdminNames.Subscription(subscription), AdminNames.Flag(force, "force"), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Deletes a subscription; 409 while consumers are connected unless ?force=true.");

        persistent.MapPost(Subscription + "/resetcursor/{timestamp}", async Task<NoContent> (string tenant, string @namespace, string topic, string subscription, string timestamp, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var sub = AdminNames.Subscription(subscription);
            var publishTime = AdminNames.Number(timestamp, "timestamp (milliseconds since the epoch)", 0);
            await context.Topics.ResetCursorAsync(name, sub, publishTime, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Moves the subscription to the first message published at or after the timestamp (ms).");

        persistent.MapPost(Subscription + "/resetcursor", async Task<NoContent> (string tenant, string @namespace, string topic, string subscription, HttpRequest request, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var sub = AdminNames.Subscription(subscription);
            var messageId = (await AdminJson.ReadBodyAsync<MessageIdData>(request, required: true, ct).ConfigureAwait(false))!;
            await context.Topics.ResetCursorAsync(name, sub, messageId, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<MessageIdData>("application/json").WithSummary("Moves the subscription so that the given message id is delivered next.");

        persistent.MapPost(Subscription + "/skip/{numMessages}", async Task<NoContent> (string tenant, string @namespace, string topic, string subscription, string numMessages, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var sub = AdminNames.Subscription(subscription);
            var count = AdminNames.Number(numMessages, "number of messages", 1);
            await context.Topics.SkipAsync(name, sub, count, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Acknowledges the next N messages of the subscription.");

        persistent.MapPost(Subscription + "/skip_all", async Task<NoContent> (string tenant, string @namespace, string topic, string subscription, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await context.Topics.SkipAllAsync(name, AdminNames.Subscription(subscription), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Acknowledges every message of the subscription (clears its backlog).");
    }
}
