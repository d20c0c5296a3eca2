using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Metadata.V1;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// A topic's own policies (Pulsar's topic-level policies), stored at <see cref="MetadataPaths.TopicPolicies"/>:
/// a partition's are its partitioned topic's, so every partition follows the same. Only a topic that exists
/// (a managed ledger, or a partitioned topic and its partitions) has policies, as in Pulsar: setting them for
/// a name nobody created is refused with 404 rather than left behind for a topic that may never come.
/// GET answers 204 while unset; ?applied=true answers what applies: the topic's, else the namespace's, else the broker's.
/// </summary>
internal static partial class TopicEndpoints
{
    private static void MapPolicies(RouteGroupBuilder persistent, AdminContext context)
    {
        MapTopicPolicy<bool?>(persistent, context, "deduplicationEnabled",
            "Producer de-duplication of the topic (a bare true or false): a batch a producer sends again is stored once.",
            p => p.DeduplicationEnabled,
            (p, value) => p with { DeduplicationEnabled = value },
            (namespacePolicies, options) => namespacePolicies?.DeduplicationEnabled ?? options.DeduplicationEnabled);
        MapTopicReplication(persistent, context);
    }

    /// <summary>
    /// GET (with ?applied), POST and DELETE of one topic policy. <paramref name="inherited"/> is what applies
    /// when the topic does not set it: from the namespace's policies (null for a namespace without a record), else the broker's.
    /// </summary>
    private static void MapTopicPolicy<T>(RouteGroupBuilder persistent, AdminContext context, string policy, string summary,
        Func<TopicPolicies, T?> get, Func<TopicPolicies, T?, TopicPolicies> set, Func<NamespacePolicies?, AdminApiOptions, T> inherited)
    {
        var route = $"{Topic}/{policy}";
        persistent.MapGet(route, async Task<Results<Ok<T>, NoContent>> (string tenant, string @namespace, string topic, string? applied, CancellationToken ct) =>
        {
            var resolve = AdminNames.Flag(applied, "applied");
            var name = await ExistingTopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            var own = await context.Store.GetAsync<TopicPolicies>(MetadataPaths.TopicPolicies(name), ct).ConfigureAwait(false);
            if (own?.Value is { } policies && get(policies) is { } value)
                return TypedResults.Ok(value);
            if (!resolve)
                return TypedResults.NoContent();
            var ns = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name.Namespace), ct).ConfigureAwait(false);
            return TypedResults.Ok(inherited(ns?.Value, context.Options));
        }).WithSummary($"{summary} 204 while the topic does not set it; ?applied=true: what applies (the topic's, else the namespace's, else the broker's).");

        persistent.MapPost(route, async Task<NoContent> (string tenant, string @namespace, string topic, HttpRequest request, CancellationToken ct) =>
        {
            // The body is judged before anything is looked up: a bad one is a 400 whether or not the topic exists.
            var value = (await AdminJson.ReadBodyAsync<T>(request, required: true, ct).ConfigureAwait(false))!;
            var name = await ExistingTopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await UpdateTopicPoliciesAsync(context, name, p => set(p, value), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts(typeof(T), "application/json").WithSummary($"Sets: {summary}");

        persistent.MapDelete(route, async Task<NoContent> (string tenant, string @namespace, string topic, CancellationToken ct) =>
        {
            var name = await ExistingTopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
            await UpdateTopicPoliciesAsync(context, name, p => set(p, default), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary($"Unsets (back to the namespace's, else the broker's): {summary}");
    }

    /// <summary>
    /// Changes the topic's policies by compare-and-set; policies left with nothing set are deleted, not stored
    /// empty. A topic deleted meanwhile (whose deletion removed its policies before this write) gets its
    /// policies removed again here, and the call answers 404: nothing is left behind for a topic that is gone.
    /// </summary>
    /// <remarks>
    /// <paramref name="alongside"/>, when given, is decided on each attempt before the write and its operations are
    /// written in the same transaction (rewrites of what the change was decided on, so that a concurrent change of
    /// those fails this write and it is decided again).
    /// </remarks>
    private static async Task UpdateTopicPoliciesAsync(AdminContext context, TopicName name, Func<TopicPolicies, TopicPolicies> change, CancellationToken ct,
        Func<CancellationToken, Task<List<TxnOp>>>? alongside = null)
    {
        var key = MetadataPaths.TopicPolicies(name);
        await AdminStore.RetryOnConflictAsync($"Policies of topic {name.PartitionedTopic}", async token =>
        {
            var current = await context.Store.GetAsync<TopicPolicies>(key, token).ConfigureAwait(false);
            var changedPolicies = change(current?.Value ?? new TopicPolicies());
            var changed = AdminJson.Serialize(changedPolicies);
            var others = alongside is null ? [] : await alongside(token).ConfigureAwait(false);
            if (others.Count > 0)
            {
                TxnOp? own = !IsEmpty(changed) ? AdminStore.Put(key, changedPolicies, current?.Version ?? -1)
                    : current is not null ? AdminStore.Delete(key, current.Value.Version) : null;
                await context.Store.TxnAsync(own is null ? others : [own, .. others], token).ConfigureAwait(false);
            }
            else if (!IsEmpty(changed))
                await context.Store.Metadata.PutAsync(key, changed, current?.Version ?? -1, cancellationToken: token).ConfigureAwait(false);
            else if (current is not null)
                await context.Store.Metadata.DeleteAsync(key, current.Value.Version, token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        if (!await TopicExistsAsync(context, name, ct).ConfigureAwait(false))
        {
            await context.Store.Metadata.DeleteAsync(key, cancellationToken: ct).ConfigureAwait(false);
            throw TopicNotFound(name);
        }
    }

    /// <summary>Serialized policies with nothing set (null fields are not written).</summary>
    private static bool IsEmpty(byte[] json) => json.AsSpan().Trim(" \t\r\n"u8).SequenceEqual("{}"u8);

    /// <summary>A valid topic name in a namespace that exists, naming a topic that exists; else BadName, NamespaceNotFound or TopicNotFound.</summary>
    private static async Task<TopicName> ExistingTopicAsync(AdminContext context, string tenant, string @namespace, string topic, CancellationToken ct)
    {
        var name = await TopicAsync(context, tenant, @namespace, topic, ct).ConfigureAwait(false);
        return await TopicExistsAsync(context, name, ct).ConfigureAwait(false) ? name : throw TopicNotFound(name);
    }

    /// <summary>Whether the topic exists: its managed ledger or its partitioned-topic record; a partition also while its partitioned topic has it.</summary>
    private static async Task<bool> TopicExistsAsync(AdminContext context, TopicName name, CancellationToken ct)
    {
        if (name.PartitionIndex >= 0 && await PartitionsAsync(context, name.PartitionedTopic, ct).ConfigureAwait(false) > name.PartitionIndex)
            return true;
        return await PartitionsAsync(context, name, ct).ConfigureAwait(false) >= 0;
    }

    /// <summary>The topic's partitions (0: not partitioned); -1 when it does not exist.</summary>
    private static async Task<int> PartitionsAsync(AdminContext context, TopicName name, CancellationToken ct)
    {
        try
        {
            return await context.Topics.GetPartitionsAsync(name, ct).ConfigureAwait(false);
        }
        catch (BrokerException e) when (e.Code == BrokerErrorCode.TopicNotFound)
        {
            return -1;
        }
    }

    private static BrokerException TopicNotFound(TopicName name)
        => new(BrokerErrorCode.TopicNotFound, $"Topic {name} does not exist: create it (PUT …/{name.LocalName}, or …/partitions for a partitioned topic) before setting its policies.");
}
