using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Ledger;

namespace Tiered.AdminApi.Endpoints;

/// <summary>What the admin API stores at /bookies/decommissioning/{id}: when the decommission was asked for.</summary>
internal sealed record DecommissionRequest(long RequestedAtMs);

/// <summary>A decommission's progress, as POST and GET /admin/v2/bookies/{bookieId}/decommission answer it.</summary>
/// <param name="BookieId">The bookie being decommissioned.</param>
/// <param name="State">"Draining" while a ledger still names the bookie; "Done" once none does (it may be stopped and its data deleted).</param>
/// <param name="ReadOnly">Whether the bookie no longer accepts adds: registered read-only, or not running at all. False only in the moments before the bookie sees its decommission.</param>
/// <param name="LedgersRemaining">Ledgers whose ensembles still name the bookie: the copying left to do.</param>
/// <param name="UnderReplicatedLedgers">Ledgers of the whole cluster with fewer than Qw copies on live bookies that are not being decommissioned (this bookie's remaining ledgers included).</param>
/// <param name="RequestedAtMs">When the decommission was asked for (Unix milliseconds).</param>
internal sealed record DecommissionProgress(string BookieId, string State, bool ReadOnly, int LedgersRemaining, int UnderReplicatedLedgers, long RequestedAtMs);

/// <summary>
/// Decommissioning a bookie (BookKeeper's <c>decommissionbookie</c>, driven through the admin API so that
/// an operator or a person can do it the same way): the request is stored as a persistent key under
/// <see cref="BookiePaths.Decommissioning"/>, so it survives restarts of brokers, bookies and
/// auto-recovery. The bookie sees the key and turns read-only for good; auto-recovery copies its share
/// of every ledger to other bookies while it still serves reads; the progress is computed from the
/// ledger metadata on every request, so it is never stale. Also the count of under-replicated ledgers
/// per bookie. Only super-users may call these (<see cref="AdminAccess"/>: every /bookies route).
/// </summary>
internal static class BookieDecommissionEndpoints
{
    public const string Draining = "Draining";
    public const string Done = "Done";

    /// <summary>Rewritten with every decommission stored: concurrent decommissions are decided one after another.</summary>
    private const string GuardKey = "/bookies/decommission-guard";

    public static void Map(RouteGroupBuilder admin, AdminContext context)
    {
        var bookies = admin.MapGroup("/bookies").WithTags("bookies");

        bookies.MapPost("/{bookieId}/decommission", async Task<Results<Accepted<DecommissionProgress>, Ok<DecommissionProgress>>> (string bookieId, CancellationToken ct) =>
        {
            var store = context.Store.Metadata;
            var key = BookiePaths.DecommissioningKey(bookieId);
            // Decided and stored together with a bump of the guard key, so that two decommissions asked for at
            // once cannot both pass the check against the same count of bookies: the second one's write fails,
            // and it decides again, seeing the first.
            var started = await AdminStore.RetryOnConflictAsync($"The decommission of bookie {bookieId}", async token =>
            {
                var guard = await store.GetAsync(GuardKey, cancellationToken: token).ConfigureAwait(false);
                var report = await ReplicationReport.ReadAsync(store, token).ConfigureAwait(false);
                if (await store.GetAsync(key, cancellationToken: token).ConfigureAwait(false) is { } existing)
                    return (Started: false, Request: AdminJson.Deserialize<DecommissionRequest>(existing));
                if (!report.Knows(bookieId))
                    throw UnknownBookie(bookieId);
                var remaining = report.Writable.Where(b => b != bookieId && !report.Decommissioning.Contains(b)).Order(StringComparer.Ordinal).ToList();
                if (remaining.Count < report.MaxEnsembleSize)
                {
                    throw new AdminRefusalException(StatusCodes.Status409Conflict, "too-few-bookies", "Too few bookies",
                        $"Decommissioning bookie {bookieId} would leave {remaining.Count} writable bookie(s) ({(remaining.Count == 0 ? "none" : string.Join(", ", remaining))}), "
                        + $"fewer than the largest ensemble size in use ({report.MaxEnsembleSize}), so its ledgers could not be re-replicated. Nothing was changed; start another bookie first.");
                }
                var request = new DecommissionRequest(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await context.Store.TxnAsync(
                [
                    AdminStore.Put(key, request, expectedVersion: -1),
                    AdminStore.Put(GuardKey, request, expectedVersion: guard?.Version ?? -1),
                ], token).ConfigureAwait(false);
                return (Started: true, Request: request);
            }, ct).ConfigureAwait(false);
            var progress = Progress(bookieId, started.Request, await ReplicationReport.ReadAsync(store, ct).ConfigureAwait(false));
            return started.Started
                ? TypedResults.Accepted($"{AdminApi.Prefix}/bookies/{Uri.EscapeDataString(bookieId)}/decommission", progress)
                : TypedResults.Ok(progress);
        }).WithSummary("Decommissions a bookie: it turns read-only for good and auto-recovery copies its ledgers to other bookies. 202 with the progress when started, 200 when already under way or done; "
            + "404 for a bookie the cluster does not know; 409 (nothing changed) when fewer writable bookies than the largest ensemble size in use would remain.");

        bookies.MapGet("/{bookieId}/decommission", async Task<Ok<DecommissionProgress>> (string bookieId, CancellationToken ct) =>
        {
            var store = context.Store.Metadata;
            var stored = await store.GetAsync(BookiePaths.DecommissioningKey(bookieId), cancellationToken: ct).ConfigureAwait(false)
                ?? throw new AdminRefusalException(StatusCodes.Status404NotFound, "decommission-not-found", "Not being decommissioned",
                    $"Bookie {bookieId} is not being decommissioned; start it with POST {AdminApi.Prefix}/bookies/{bookieId}/decommission.");
            var report = await ReplicationReport.ReadAsync(store, ct).ConfigureAwait(false);
            return TypedResults.Ok(Progress(bookieId, AdminJson.Deserialize<DecommissionRequest>(stored), report));
        }).WithSummary("The progress of a bookie's decommission: state Draining or Done (no ledger names the bookie any more), readOnly, ledgersRemaining, underReplicatedLedgers; 404 if it was never decommissioned.");

        bookies.MapGet("/under-replicated", async Task<Ok<SortedDictionary<string, int>>> (CancellationToken ct) =>
        {
            var report = await ReplicationReport.ReadAsync(context.Store.Metadata, ct).ConfigureAwait(false);
            var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            foreach (var bookie in report.Registered.Concat(report.Decommissioning))
                counts[bookie] = 0;
            foreach (var (bookie, count) in report.UnderReplicatedByBookie)
                counts[bookie] = count;
            return TypedResults.Ok(counts);
        }).WithSummary("Under-replicated ledgers per bookie: for every registered or decommissioning bookie, and every lost one some ledger still names, the ledgers that need a copy made because of it (0: none).");
    }

    private static DecommissionProgress Progress(string bookieId, DecommissionRequest request, ReplicationReport report)
    {
        var remaining = report.LedgersNaming.GetValueOrDefault(bookieId);
        return new DecommissionProgress(bookieId, remaining == 0 ? Done : Draining, ReadOnly: !report.Writable.Contains(bookieId), remaining,
            report.UnderReplicatedLedgers, request.RequestedAtMs);
    }

    private static AdminRefusalException UnknownBookie(string bookieId)
        => new(StatusCodes.Status404NotFound, "bookie-not-found", "Bookie not found",
            $"No bookie {bookieId} is registered, being decommissioned or named by any ledger; check the id with GET {AdminApi.Prefix}/bookies/all.");
}
