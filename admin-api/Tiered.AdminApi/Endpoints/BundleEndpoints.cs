using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// One bundle as Pulsar's ownedNamespaces lists it. Tiered has no primary/secondary brokers nor
/// bundles pinned by isolation policies: every owned bundle is "shared", not controlled, active.
/// </summary>
internal sealed record NamespaceOwnershipStatus(
    [property: JsonPropertyName("broker_assignment")] string BrokerAssignment,
    [property: JsonPropertyName("is_controlled")] bool IsControlled,
    [property: JsonPropertyName("is_active")] bool IsActive)
{
    public static readonly NamespaceOwnershipStatus Owned = new("shared", IsControlled: false, IsActive: true);
}

/// <summary>
/// A namespace's bundles (the units of ownership: ranges of topic-name hashes) and who owns them:
/// …/namespaces/{tenant}/{namespace}/bundles, …/{bundle}/split, …/{bundle}/unload, …/unload, and
/// /brokers/{cluster}/{broker}/ownedNamespaces. The bundles are read from and written to the
/// namespace's policies; owners are moved only through the broker's <see cref="IOwnershipGate"/>,
/// so the same endpoints serve a standalone broker and a cluster.
/// </summary>
internal static class BundleEndpoints
{
    /// <summary>Pulsar's default split algorithm, the only one built: cut the bundle at the middle of its hash range.</summary>
    public const string RangeEquallyDivide = "range_equally_divide";

    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        var namespaces = admin.MapGroup("/namespaces").WithTags("namespaces");
        namespaces.MapGet("/{tenant}/{namespace}/bundles", async Task<Ok<BundlesData>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var (_, bundles) = await ReadAsync(context, AdminNames.Namespace(tenant, @namespace), ct).ConfigureAwait(false);
            return TypedResults.Ok(bundles.ToData());
        }).WithSummary("The namespace's bundles as Pulsar's BundlesData: {\"boundaries\": [\"0x00000000\", …, \"0xffffffff\"], \"numBundles\": N}; bundle i is [boundary i, boundary i+1).");

        namespaces.MapPut("/{tenant}/{namespace}/{bundle}/split", async Task<NoContent> (string tenant, string @namespace, string bundle, string? unload, string? splitAlgorithmName,
            CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            CheckRange(bundle);
            AdminNames.Flag(unload, "unload");
            CheckAlgorithm(splitAlgorithmName);
            var old = await SplitAsync(context, name, bundle, ct).ConfigureAwait(false);
            // Its topics reopen under the new bundles on their next use: the gate places those anew.
            await context.Ownership.UnloadAsync(old, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Cuts a bundle (0x…_0x…) in two at the middle of its range (range_equally_divide, the only splitAlgorithmName built) and unloads it: its topics reopen under the two new bundles. 404 for a range that is not one of the namespace's bundles.");

        namespaces.MapPut("/{tenant}/{namespace}/{bundle}/unload", async Task<NoContent> (string tenant, string @namespace, string bundle, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            CheckRange(bundle);
            var (_, bundles) = await ReadAsync(context, name, ct).ConfigureAwait(false);
            await context.Ownership.UnloadAsync(Find(bundles, bundle), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Unloads a bundle (0x…_0x…): its owner closes its topics (their clients look them up again) and releases it; the next lookup places it anew. Nothing is deleted.");

        namespaces.MapPut("/{tenant}/{namespace}/unload", async Task<NoContent> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var (_, bundles) = await ReadAsync(context, AdminNames.Namespace(tenant, @namespace), ct).ConfigureAwait(false);
            foreach (var each in bundles.All)
                await context.Ownership.UnloadAsync(each, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Unloads every bundle of the namespace (see …/{bundle}/unload).");

        admin.MapGet("/brokers/{cluster}/{broker}/ownedNamespaces", async Task<IResult> (string cluster, string broker, CancellationToken ct) =>
        {
            var live = await ClusterViewEndpoints.LiveBrokersAsync(context, cluster, ct).ConfigureAwait(false);
            if (!live.Contains(broker, StringComparer.Ordinal))
            {
                return AdminProblems.Problem(StatusCodes.Status404NotFound, "broker-not-found", "Broker not found",
                    $"Broker {Names.Quote(broker)} is not a live broker of cluster {cluster}; GET /admin/v2/brokers/{cluster} lists them (as host:port of their admin API).");
            }
            var owned = await context.Ownership.ListOwnershipAsync(ct).ConfigureAwait(false);
            var answer = new Dictionary<string, NamespaceOwnershipStatus>(StringComparer.Ordinal);
            foreach (var bundle in owned.Where(o => o.BrokerId == broker).Select(o => o.Bundle.ToString()).Order(StringComparer.Ordinal))
                answer[bundle] = NamespaceOwnershipStatus.Owned;
            return TypedResults.Ok(answer);
        }).WithTags("brokers")
          .Produces<Dictionary<string, NamespaceOwnershipStatus>>()
          .WithSummary("The bundles the broker owns, as Pulsar's map {\"tenant/namespace/0x…_0x…\": {\"broker_assignment\": \"shared\", \"is_controlled\": false, \"is_active\": true}}; 404 for a broker that is not live in the cluster.");
    }

    /// <summary>BadRequest unless <paramref name="range"/> reads as a bundle range.</summary>
    private static void CheckRange(string range)
    {
        if (!NamespaceBundle.TryParseRange(range, out _, out _))
        {
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid bundle {Names.Quote(range)}: expected a hash range as lower_upper, 0x and 8 hex digits each with lower below upper, e.g. 0x00000000_0x40000000 (GET …/bundles lists them).");
        }
    }

    private static void CheckAlgorithm(string? algorithm)
    {
        if (!string.IsNullOrEmpty(algorithm) && algorithm != RangeEquallyDivide)
        {
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Split algorithm {Names.Quote(algorithm)} is not supported: only {RangeEquallyDivide} (the default), which cuts the bundle at the middle of its hash range.");
        }
    }

    /// <summary>The namespace's stored policies and its bundles (one for a namespace stored before bundles existed); NamespaceNotFound.</summary>
    private static async Task<(Versioned<NamespacePolicies> Stored, NamespaceBundles Bundles)> ReadAsync(AdminContext context, NamespaceName name, CancellationToken ct)
    {
        var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), ct).ConfigureAwait(false) ?? throw NamespaceEndpoints.NotFound(name);
        return (stored, new NamespaceBundles(name, stored.Value.Bundles?.Parsed));
    }

    private static NamespaceBundle Find(NamespaceBundles bundles, string range) => bundles.TryGet(range, out var bundle)
        ? bundle
        : throw new BrokerException(BrokerErrorCode.BundleNotFound,
            $"Namespace {bundles.Namespace} has no bundle {range} (it has {bundles.Count}); GET /admin/v2/namespaces/{bundles.Namespace}/bundles lists them.");

    /// <summary>
    /// Stores the namespace's bundles with <paramref name="range"/> cut in two, compare-and-set on the
    /// version it was decided on (decided again when the policies changed meanwhile: a concurrent split
    /// of the same bundle then finds it gone). Returns the bundle that was cut.
    /// </summary>
    private static Task<NamespaceBundle> SplitAsync(AdminContext context, NamespaceName name, string range, CancellationToken ct)
        => AdminStore.RetryOnConflictAsync($"Namespace {name}", async token =>
        {
            var (stored, bundles) = await ReadAsync(context, name, token).ConfigureAwait(false);
            var old = Find(bundles, range);
            var split = bundles.Split(old);
            await context.Store.Metadata.PutAsync(MetadataPaths.Namespace(name), AdminJson.Serialize(stored.Value with { Bundles = split.ToData() }), stored.Version,
                cancellationToken: token).ConfigureAwait(false);
            return old;
        }, ct);
}
