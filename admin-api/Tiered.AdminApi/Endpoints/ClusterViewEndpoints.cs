using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Bookie.V1;
using Tiered.Broker;
using Tiered.Broker.Metadata;
using Tiered.Ledger;

namespace Tiered.AdminApi.Endpoints;

/// <summary>A bookie as it registered in the metadata service.</summary>
/// <param name="BookieId">host:port, as the bookie registered itself.</param>
/// <param name="State">"writable", or "read-only" while its disk is nearly full.</param>
internal sealed record RegisteredBookie(string BookieId, string State);

/// <summary>
/// A bookie as GET /admin/v2/bookies/all answers it: its registration, and what it reported about
/// itself when asked (disk space in bytes, BookKeeper's freeSpace/totalSpace of /api/v1/bookie/info).
/// </summary>
/// <param name="BookieId">host:port, as the bookie registered itself.</param>
/// <param name="State">"writable", or "read-only" while its disk is nearly full (from its registration).</param>
/// <param name="Reachable">Whether the bookie answered within the timeout; when false the space and ledger fields are null.</param>
/// <param name="FreeSpace">Bytes free on the disk holding the bookie's data, as the bookie measured it.</param>
/// <param name="TotalSpace">Size in bytes of that disk.</param>
/// <param name="UsedSpace">Bytes in use on that disk (by the bookie and anything else on it).</param>
/// <param name="LedgerCount">Ledgers stored on the bookie.</param>
/// <param name="Error">Why the bookie is not reachable (null when it is).</param>
internal sealed record BookieView(string BookieId, string State, bool Reachable, long? FreeSpace, long? TotalSpace, long? UsedSpace, long? LedgerCount, string? Error);

/// <summary>{"bookies": […]}: GET /admin/v2/bookies/all.</summary>
internal sealed record BookiesClusterInfo(IReadOnlyList<BookieView> Bookies);

/// <summary>One bookie in racks-info: its rack, host and state.</summary>
internal sealed record BookieRackInfo(string Rack, string Hostname, string State);

/// <summary>
/// The cluster as this broker sees it: /admin/v2/brokers/{cluster} and /admin/v2/bookies/….
/// Bookies are read from their registrations in the metadata service (ephemeral keys under
/// /bookies/available and /bookies/readonly, kept by each bookie while it is alive); /bookies/all then
/// asks each of them, in parallel and for at most <see cref="AdminApiOptions.BookieInfoTimeout"/>, for its
/// disk use. A bookie that does not answer is still listed, marked not reachable, without numbers.
/// </summary>
internal static class ClusterViewEndpoints
{
    /// <summary>BookKeeper's rack of a bookie without rack placement (Tiered has none).</summary>
    public const string DefaultRack = "/default-rack";

    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        admin.MapGet("/brokers/{cluster}", async Task<Ok<IReadOnlyList<string>>> (string cluster, CancellationToken ct)
            => TypedResults.Ok(await LiveBrokersAsync(context, cluster, ct).ConfigureAwait(false)))
            .WithTags("brokers").WithSummary("The live brokers of this broker's cluster, as host:port of their admin API (their registrations at /brokers/{id}).");

        var bookies = admin.MapGroup("/bookies").WithTags("bookies");
        bookies.MapGet("/all", async Task<Ok<BookiesClusterInfo>> (CancellationToken ct) =>
        {
            var registered = await RegisteredAsync(context, ct).ConfigureAwait(false);
            var views = await Task.WhenAll(registered.Select(b => AskAsync(context, b, ct))).ConfigureAwait(false);
            return TypedResults.Ok(new BookiesClusterInfo(views));
        }).WithSummary("Every registered (live) bookie with its state (writable or read-only) and the disk space it reports (bytes); one that does not answer within the timeout is listed with reachable false.");

        bookies.MapGet("/racks-info", async Task<Ok<Dictionary<string, Dictionary<string, BookieRackInfo>>>> (CancellationToken ct) =>
        {
            var registered = await RegisteredAsync(context, ct).ConfigureAwait(false);
            var rack = registered.ToDictionary(b => b.BookieId, b => new BookieRackInfo(DefaultRack, HostOf(b.BookieId), b.State), StringComparer.Ordinal);
            return TypedResults.Ok(new Dictionary<string, Dictionary<string, BookieRackInfo>>(StringComparer.Ordinal) { ["default"] = rack });
        }).WithSummary("Registered bookies by rack group: all in group \"default\", rack /default-rack (no rack placement is configured), with their state.");
    }

    /// <summary>
    /// The ids of the live brokers of <paramref name="cluster"/> (their registrations at /brokers/{id}),
    /// sorted; ClusterNotFound for an unknown cluster or another one than this broker's.
    /// </summary>
    internal static async Task<IReadOnlyList<string>> LiveBrokersAsync(AdminContext context, string cluster, CancellationToken ct)
    {
        var name = AdminNames.Cluster(cluster);
        if (!await context.Store.ExistsAsync(MetadataPaths.Cluster(name), ct).ConfigureAwait(false))
            throw ClusterEndpoints.NotFound(name);
        if (name != context.Options.ClusterName)
            throw new BrokerException(BrokerErrorCode.ClusterNotFound, $"This broker belongs to cluster {context.Options.ClusterName ?? "(none)"} and knows only its brokers; ask a broker of {name}.");
        var registered = await context.Store.ChildValuesAsync<BrokerRegistration>(MetadataPaths.Brokers, ct).ConfigureAwait(false);
        return [.. registered.Where(b => b.Value.Value?.Cluster == name).Select(b => b.Name).Order(StringComparer.Ordinal)];
    }

    private static async Task<IReadOnlyList<RegisteredBookie>> RegisteredAsync(AdminContext context, CancellationToken ct)
    {
        var writable = await context.Store.ChildrenAsync(BookiePaths.Available, ct).ConfigureAwait(false);
        var readOnly = await context.Store.ChildrenAsync(BookiePaths.ReadOnly, ct).ConfigureAwait(false);
        return [.. writable.Select(id => new RegisteredBookie(id, "writable"))
            .Concat(readOnly.Select(id => new RegisteredBookie(id, "read-only")))
            .OrderBy(b => b.BookieId, StringComparer.Ordinal)];
    }

    /// <summary>The bookie's own report; never a number it did not give.</summary>
    private static async Task<BookieView> AskAsync(AdminContext context, RegisteredBookie bookie, CancellationToken ct)
    {
        InfoResponse info;
        try
        {
            info = await context.Bookies.GetBookieInfoAsync(bookie.BookieId, context.Options.BookieInfoTimeout, ct).ConfigureAwait(false);
        }
        catch (LedgerException e)
        {
            return Unreachable(bookie, e.Message);
        }
        // A stale registration whose address another bookie now listens on: its numbers are not this bookie's.
        if (info.BookieId != bookie.BookieId)
            return Unreachable(bookie, "Another bookie answers at this address.");
        return new BookieView(bookie.BookieId, bookie.State, Reachable: true, info.DiskFreeBytes, info.DiskUsedBytes + info.DiskFreeBytes,
            info.DiskUsedBytes, info.LedgerCount, Error: null);
    }

    private static BookieView Unreachable(RegisteredBookie bookie, string error)
        => new(bookie.BookieId, bookie.State, Reachable: false, FreeSpace: null, TotalSpace: null, UsedSpace: null, LedgerCount: null, error);

    private static string HostOf(string bookieId)
    {
        var colon = bookieId.LastIndexOf(':');
        return colon > 0 ? bookieId[..colon] : bookieId;
    }
}
