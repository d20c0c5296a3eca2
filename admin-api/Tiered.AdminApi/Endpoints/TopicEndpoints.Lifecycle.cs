using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;

namespace Tiered.AdminApi.Endpoints;

/// <summary>Growing partitioned topics, terminating topics and expiring messages (Pulsar's paths).</summary>
internal static partial class TopicEndpoints
{
    private static void MapLifecycle(RouteGroupBuilder persistent, AdminContext context)
    {
        persistent.MapPost(Topic + "/partitions", async Task<NoContent> (string tenant, string @namespace, string topic, HttpRequest request, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var partitions = await AdminJson.ReadBodyAsync<int>(request, required: true, ct).ConfigureAwait(false);
            NamespacePolicyRules.ValidatePartitions(partitions);
            await context.Topics.UpdatePartitionedTopicAsync(name, partitions, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<int>("application/json")
            .WithSummary("Grows a partitioned topic to N partitions (body: the integer N); 409 when N is smaller than now (partitions may only grow) or the topic is not partitioned.");

        persistent.MapPost(Topic + "/terminate", async Task<Ok<MessageIdData>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.TerminateAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("Terminates the topic: producers are refused from now on, consumers read to the end. Answers the last message id; 400 for a partitioned topic (use …/terminate/partitions).");

        persistent.MapPost(Topic + "/terminate/partitions", async Task<NoContent> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await context.Topics.TerminatePartitionedTopicAsync(name, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Terminates every partition of a partitioned topic.");

        persistent.MapPost(Subscription + "/expireMessages/{expireTimeInSeconds}", async Task<NoContent> (string tenant, string @namespace, string topic, string subscription, string expireTimeInSeconds, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var sub = AdminNames.Subscription(subscription);
            await context.Topics.ExpireMessagesAsync(name, sub, Seconds(expireTimeInSeconds), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Acknowledges the subscription's messages published more than the given seconds ago.");

        persistent.MapPost(Topic + "/all_subscription/expireMessages/{expireTimeInSeconds}", async Task<NoContent> (string tenant, string @namespace, string topic, string expireTimeInSeconds, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await context.Topics.ExpireMessagesAsync(name, null, Seconds(expireTimeInSeconds), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Acknowledges, on every subscription of the topic, the messages published more than the given seconds ago.");
    }

    private static int Seconds(string text)
    {
        var seconds = AdminNames.Number(text, "expiry time in seconds", 0);
        return seconds <= int.MaxValue
            ? (int)seconds
            : throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid expiry time in seconds '{text}': expected an integer from 0 to {int.MaxValue}.");
    }
}
