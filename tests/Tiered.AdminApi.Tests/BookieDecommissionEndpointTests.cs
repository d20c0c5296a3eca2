using System.Net;
using System.Text;
using Google.Protobuf;
using Tiered.Bookie.V1;
using Tiered.Ledger;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// POST /admin/v2/bookies/{id}/decommission decides on the count of writable bookies: two asked for at
/// once must not both pass that check (together they would leave too few bookies for the ensembles).
/// </summary>
public sealed class BookieDecommissionEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    [Fact]
    public async Task Of_two_decommissions_asked_for_at_once_only_one_passes_when_together_they_would_leave_too_few_bookies()
    {
        // Three writable bookies and ensembles of 2: one may go, not two.
        string[] bookies = ["10.0.1.1:3181", "10.0.1.2:3181", "10.0.1.3:3181"];
        foreach (var bookie in bookies)
            await server.Store.PutAsync(BookiePaths.AvailableKey(bookie), Encoding.UTF8.GetBytes(bookie));
        var ledger = new LedgerMetadata
        {
            EnsembleSize = 2, WriteQuorum = 2, AckQuorum = 2, State = LedgerMetadata.Types.State.Closed, LastEntryId = 0,
            Segments = { new Segment { FirstEntryId = 0, Bookies = { bookies[0], bookies[1] } } },
        };
        await server.Store.PutAsync(LedgerMetadataStore.Key(1), ledger.ToByteArray());

        for (var round = 0; round < 10; round++)
        {
            var answers = await Task.WhenAll(bookies.Take(2).Select(async bookie =>
            {
                using var response = await server.Http.PostAsync($"/admin/v2/bookies/{bookie}/decommission", null);
                return (bookie, response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            }));
            Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Accepted);
            var refused = Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Conflict);
            Assert.Contains("too-few-bookies", refused.Body);
            Assert.Null(await server.Store.GetAsync(BookiePaths.DecommissioningKey(refused.bookie)));
            Assert.Single(await server.Store.ListChildrenAsync(BookiePaths.Decommissioning));
            foreach (var bookie in bookies)
                await server.Store.DeleteAsync(BookiePaths.DecommissioningKey(bookie));
        }
    }
}
