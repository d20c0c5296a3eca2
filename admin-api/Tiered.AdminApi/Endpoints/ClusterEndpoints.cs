using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;

namespace Tiered.AdminApi.Endpoints;

/// <summary>/admin/v2/clusters: the clusters registered in this cluster's metadata.</summary>
internal static class ClusterEndpoints
{
    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        var clusters = admin.MapGroup("/clusters").WithTags("clusters");
        clusters.MapGet("", (CancellationToken ct) => ListAsync(context, ct))
            .WithSummary("Names of the registered clusters.");
        clusters.MapGet("/{cluster}", (string cluster, CancellationToken ct) => GetAsync(context, cluster, ct))
            .WithSummary("A cluster's service URLs.");
        clusters.MapPut("/{cluster}", (string cluster, HttpRequest request, CancellationToken ct) => CreateAsync(context, cluster, request, ct))
            .Accepts<ClusterData>("application/json")
            .WithSummary("Registers a cluster; 409 when it exists.");
        clusters.MapPost("/{cluster}", (string cluster, HttpRequest request, CancellationToken ct) => UpdateAsync(context, cluster, request, ct))
            .Accepts<ClusterData>("application/json")
            .WithSummary("Changes a cluster's service URLs.");
        clusters.MapDelete("/{cluster}", (string cluster, CancellationToken ct) => DeleteAsync(context, cluster, ct))
            .WithSummary("Removes a cluster; 412 while a namespace or topic replicates to it, 409 while a tenant allows it.");
    }

    private static async Task<Ok<IReadOnlyList<string>>> ListAsync(AdminContext context, CancellationToken ct)
        => TypedResults.Ok(await context.Store.ChildrenAsync(MetadataPaths.Clusters, ct).ConfigureAwait(false));

    private static async Task<Ok<ClusterData>> GetAsync(AdminContext context, string cluster, CancellationToken ct)
    {
        var name = AdminNames.Cluster(cluster);
        var stored = await context.Store.GetAsync<ClusterData>(MetadataPaths.Cluster(name), ct).ConfigureAwait(false) ?? throw NotFound(name);
        return TypedResults.Ok(stored.Value);
    }

    private static async Task<NoContent> CreateAsync(AdminContext context, string cluster, HttpRequest request, CancellationToken ct)
    {
        var name = AdminNames.Cluster(cluster);
        var data = Validate(await AdminJson.ReadBodyAsync<ClusterData>(request, required: true, ct).ConfigureAwait(false));
        try
        {
            await context.Store.Metadata.PutAsync(MetadataPaths.Cluster(name), AdminJson.Serialize(data), expectedVersion: -1, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Metadata.MetadataException e) when (e.Code == Metadata.MetadataErrorCode.BadVersion)
        {
            throw new BrokerException(BrokerErrorCode.AlreadyExists, $"Cluster {name} already exists.", e);
        }
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> UpdateAsync(AdminContext context, string cluster, HttpRequest request, CancellationToken ct)
    {
        var name = AdminNames.Cluster(cluster);
        var data = Validate(await AdminJson.ReadBodyAsync<ClusterData>(request, required: true, ct).ConfigureAwait(false));
        await context.Store.UpdateAsync<ClusterData>(MetadataPaths.Cluster(name), $"Cluster {name}", () => NotFound(name), _ => data, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> DeleteAsync(AdminContext context, string cluster, CancellationToken ct)
    {
        var name = AdminNames.Cluster(cluster);
        await AdminStore.RetryOnConflictAsync($"Cluster {name}", async token =>
        {
            var stored = await context.Store.GetAsync<ClusterData>(MetadataPaths.Cluster(name), token).ConfigureAwait(false) ?? throw NotFound(name);
            // Pulsar answers 412 ("Cluster not empty") for a cluster still in use; the replication lists that name it say where.
            var replicating = await ReplicationClusterRules.UsersAsync(context.Store, tenant: null, c => c == name, token).ConfigureAwait(false);
            if (replicating.Count > 0)
                throw AdminRefusalException.PreconditionFailed(
                    $"Cluster {name} is still in the replication clusters of {string.Join(", ", replicating)}; remove it from those lists first (POST …/replication).");
            var tenants = await context.Store.ChildValuesAsync<TenantInfo>(MetadataPaths.Tenants, token).ConfigureAwait(false);
            var users = tenants.Where(t => t.Value.Value.AllowedClusters.Contains(name, StringComparer.Ordinal)).Select(t => t.Name).ToList();
            if (users.Count > 0)
                throw new BrokerException(BrokerErrorCode.Conflict, $"Cluster {name} is still allowed for tenants: {string.Join(", ", users)}; remove it from their allowedClusters first.");
            // Tenants and replication lists that start naming the cluster touch it, so this fails (and is decided again) if one did meanwhile.
            await context.Store.Metadata.DeleteAsync(MetadataPaths.Cluster(name), stored.Version, token).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Service URLs, when given, must be usable by the other clusters' replicators and admin tools: serviceUrl (the admin
    /// API) an absolute http:// or https:// URL, brokerServiceUrl (gRPC) one too or host:port.
    /// </summary>
    private static ClusterData Validate(ClusterData? data)
    {
        if (data!.ServiceUrl is { } service && !IsHttpUrl(service))
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid serviceUrl '{service}': expected an absolute http:// or https:// URL of the cluster's admin API, such as http://host:8080.");
        if (data.BrokerServiceUrl is { } broker && !IsHttpUrl(broker) && !IsHostPort(broker))
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid brokerServiceUrl '{broker}': expected an absolute http:// or https:// URL of the cluster's gRPC endpoint, such as http://host:6650, or host:port.");
        return data;
    }

    internal static bool IsHttpUrl(string url)
        => Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0 && url.StartsWith(uri.Scheme + "://", StringComparison.Ordinal);

    /// <summary>host:port (a name, an IPv4 address or a bracketed IPv6 address, and a port from 1 to 65535), nothing else.</summary>
    internal static bool IsHostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            return false;
        var host = value[..colon];
        return Uri.CheckHostName(host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host) != UriHostNameType.Unknown;
    }

    internal static BrokerException NotFound(string cluster) => new(BrokerErrorCode.ClusterNotFound, $"Cluster {cluster} does not exist.");
}
