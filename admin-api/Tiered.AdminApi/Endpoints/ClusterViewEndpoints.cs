using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker;
using Tiered.Broker.Metadata;

namespace Tiered.AdminApi.Endpoints;

/// <summary>A bookie as /admin/v2/bookies answers it: its id and whether it takes writes.</summary>
/// <param name="BookieId">host:port, as the bookie registered itself.</param>
/// <param name="State">"writable", or "read-only" while its disk is nearly full.</param>
internal sealed record BookieView(string BookieId, string State);

/// <summary>{"bookies": […]}: GET /admin/v2/bookies/all.</summary>
internal sealed record BookiesClusterInfo(IReadOnlyList<BookieView> Bookies);

/// <summary>One bookie in racks-info: its rack, host and state.</summary>
internal sealed record BookieRackInfo(string Rack, string Hostname, string State);

/// <summary>
/// The cluster as this broker sees it: /admin/v2/brokers/{cluster} and /admin/v2/bookies/….
/// Bookies are read from their registrations in the metadata service (ephemeral keys under
/// /bookies/available and /bookies/readonly, kept by each bookie while it is alive). Registrations
/// carry no disk usage, so none is reported.
/// </summary>
internal static class ClusterViewEndpoints
{
    /// <summary>Where bookies register (Tiered.Bookie's BookieRegistration).</summary>
    public const string AvailableBookies = "/bookies/available";
    public const string ReadOnlyBookies = "/bookies/readonly";

    /// <summary>BookKeeper's rack of a bookie without rack placement (Tiered has none).</summary>
    public const string DefaultRack = "/default-rack";

    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        admin.MapGet("/brokers/{cluster}", async Task<Ok<IReadOnlyList<string>>> (string cluster, CancellationToken ct) =>
        {
            var name = AdminNames.Cluster(cluster);
            if (!await context.Store.ExistsAsync(MetadataPaths.Cluster(name), ct).ConfigureAwait(false))
                throw ClusterEndpoints.NotFound(name);
            if (name != context.Options.ClusterName)
                throw new BrokerException(BrokerErrorCode.ClusterNotFound, $"This broker belongs to cluster {context.Options.ClusterName ?? "(none)"} and knows only its brokers; ask a broker of {name}.");
            return TypedResults.Ok<IReadOnlyList<string>>(context.Options.BrokerId is { } self ? [self] : []);
        }).WithTags("brokers").WithSummary("The live brokers of this broker's cluster, as host:port of their admin API (this broker: brokers do not register with each other yet).");

        var bookies = admin.MapGroup("/bookies").WithTags("bookies");
        bookies.MapGet("/all", async Task<Ok<BookiesClusterInfo>> (CancellationToken ct) =>
            TypedResults.Ok(new BookiesClusterInfo(await RegisteredAsync(context, ct).ConfigureAwait(false))))
            .WithSummary("Every registered (live) bookie with its state: writable or read-only. Disk use is not reported: bookies do not register it.");

        bookies.MapGet("/racks-info", async Task<Ok<Dictionary<string, Dictionary<string, BookieRackInfo>>>> (CancellationToken ct) =>
        {
            var registered = await RegisteredAsync(context, ct).ConfigureAwait(false);
            var rack = registered.ToDictionary(b => b.BookieId, b => new BookieRackInfo(DefaultRack, HostOf(b.BookieId), b.State), StringComparer.Ordinal);
            return TypedResults.Ok(new Dictionary<string, Dictionary<string, BookieRackInfo>>(StringComparer.Ordinal) { ["default"] = rack });
        }).WithSummary("Registered bookies by rack group: all in group \"default\", rack /default-rack (no rack placement is configured), with their state.");
    }

    private static async Task<IReadOnlyList<BookieView>> RegisteredAsync(AdminContext context, CancellationToken ct)
    {
        var writable = await context.Store.ChildrenAsync(AvailableBookies, ct).ConfigureAwait(false);
        var readOnly = await context.Store.ChildrenAsync(ReadOnlyBookies, ct).ConfigureAwait(false);
        return [.. writable.Select(id => new BookieView(id, "writable"))
            .Concat(readOnly.Select(id => new BookieView(id, "read-only")))
            .OrderBy(b => b.BookieId, StringComparer.Ordinal)];
    }

    private static string HostOf(string bookieId)
    {
        var colon = bookieId.LastIndexOf(':');
        return colon > 0 ? bookieId[..colon] : bookieId;
    }
}
