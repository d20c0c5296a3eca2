using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// /admin/v2/persistent/{tenant}/{namespace}[/{topic}…]: topics and partitioned topics, answered by
/// the broker through <see cref="ITopicAdmin"/> once the names are valid and the namespace exists.
/// </summary>
internal static partial class TopicEndpoints
{
    private const string Topic = "/{tenant}/{namespace}/{topic}";

    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        var persistent = admin.MapGroup("/persistent").WithTags("topics");
        persistent.MapGet("/{tenant}/{namespace}", async Task<Ok<IReadOnlyList<string>>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = await NamespaceAsync(context, tenant, @namespace, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.ListTopicsAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("The namespace's topics, partitions of partitioned topics included.");

        persistent.MapGet("/{tenant}/{namespace}/partitioned", async Task<Ok<IReadOnlyList<string>>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = await NamespaceAsync(context, tenant, @namespace, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.ListPartitionedTopicsAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("The namespace's partitioned topics.");

        persistent.MapPut(Topic, async Task<NoContent> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            await context.Topics.CreateTopicAsync(await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Creates a topic without partitions; 409 when it exists.");

        persistent.MapDelete(Topic, async Task<NoContent> (string tenant, string @namespace, string topic, string? force, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await context.Topics.DeleteTopicAsync(name, AdminNames.Flag(force, "force"), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Deletes a topic (or one partition) and its data; 409 while clients are connected unless ?force=true.");

        persistent.MapPut(Topic + "/partitions", async Task<NoContent> (string tenant, string @namespace, string topic, HttpRequest request, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var partitions = await AdminJson.ReadBodyAsync<int>(request, required: true, ct).ConfigureAwait(false);
            NamespacePolicyRules.ValidatePartitions(partitions);
            if (name.PartitionIndex >= 0)
                throw new BrokerException(BrokerErrorCode.BadName, $"Invalid partitioned topic name '{name}': it must not end in '{TopicName.PartitionSuffix}N'.");
            await context.Topics.CreatePartitionedTopicAsync(name, partitions, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<int>("application/json").WithSummary("Creates a partitioned topic with N partitions (body: the integer N); 409 when it exists.");

        persistent.MapGet(Topic + "/partitions", async Task<Ok<PartitionedTopicMetadata>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(new PartitionedTopicMetadata(await context.Topics.GetPartitionsAsync(name, ct).ConfigureAwait(false)));
        }).WithSummary("{\"partitions\": N}; 0 for a topic without partitions.");

        persistent.MapDelete(Topic + "/partitions", async Task<NoContent> (string tenant, string @namespace, string topic, string? force, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await context.Topics.DeletePartitionedTopicAsync(name, AdminNames.Flag(force, "force"), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Deletes a partitioned topic and all its partitions; 409 while clients are connected unless ?force=true.");

        persistent.MapGet(Topic + "/stats", async Task<Ok<TopicStats>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.GetStatsAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("Rates, counters, publishers and subscriptions of the topic.");

        persistent.MapGet(Topic + "/internalStats", async Task<Ok<InternalTopicStats>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.GetInternalStatsAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("The topic's managed ledger: ledgers, cursors, positions.");

        persistent.MapPut(Topic + "/offload", async Task<NoContent> (string tenant, string @namespace, string topic, HttpRequest request, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var upTo = await AdminJson.ReadBodyAsync<MessageIdData>(request, required: false, ct).ConfigureAwait(false);
            await context.Topics.TriggerOffloadAsync(name, upTo, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<MessageIdData>("application/json")
          .WithSummary("Starts offloading the closed ledgers up to the message id (no body: every closed ledger) to the namespace's object store; 409 while one runs. GET …/offload follows it.");

        persistent.MapGet(Topic + "/offload", async Task<Ok<OffloadProcessStatus>> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            return TypedResults.Ok(await context.Topics.GetOffloadStatusAsync(name, ct).ConfigureAwait(false));
        }).WithSummary("The topic's last offload: NOT_RUN, RUNNING, SUCCESS or ERROR (with lastError), and the first message not offloaded.");

        MapSubscriptions(persistent, context);
        MapMessages(persistent, context);
        MapLifecycle(persistent, context);
        MapPolicies(persistent, context);
        MapPermissions(persistent, context);
    }

    /// <summary>A valid namespace name that exists, else BadName or NamespaceNotFound.</summary>
    private static async Task<NamespaceName> NamespaceAsync(AdminContext context, string tenant, string @namespace, CancellationToken ct)
    {
        var name = AdminNames.Namespace(tenant, @namespace);
        await NamespaceEndpoints.EnsureExistsAsync(context, name, ct).ConfigureAwait(false);
        return name;
    }

    /// <summary>A valid topic name in a namespace that exists, else BadName or NamespaceNotFound.</summary>
    private static async Task<TopicName> TopicAsync(AdminContext context, string tenant, string @namespace, string topic, CancellationToken ct)
    {
        var name = AdminNames.Topic(tenant, @namespace, topic);
        await NamespaceEndpoints.EnsureExistsAsync(context, name.Namespace, ct).ConfigureAwait(false);
        return name;
    }
}
