using System.Net;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// Deletes decided on "nothing uses it" race against creates that start using it; whatever the
/// interleaving, nothing may be left pointing at what was deleted.
/// </summary>
public sealed class ConcurrentChangeTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private const int Rounds = 15;

    private HttpClient Http => server.Http;

    [Fact]
    public async Task A_cluster_deleted_while_a_tenant_is_created_on_it_never_leaves_the_tenant_dangling()
    {
        var outcomes = new Dictionary<string, int>();
        for (var round = 0; round < Rounds; round++)
        {
            var cluster = $"race-{round}";
            await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/clusters/{cluster}", Json("""{"serviceUrl":"http://race"}""")));
            var create = Http.PutAsync($"/admin/v2/tenants/racer-{round}", Json($$"""{"allowedClusters":["{{cluster}}"]}"""));
            var delete = Http.DeleteAsync($"/admin/v2/clusters/{cluster}");
            var (created, deleted) = ((await create).StatusCode, (await delete).StatusCode);

            var tenantExists = await server.StoredAsync($"/admin/tenants/racer-{round}") is not null;
            var clusterExists = await server.StoredAsync($"/admin/clusters/{cluster}") is not null;
            Assert.False(tenantExists && !clusterExists, $"round {round}: tenant racer-{round} names deleted cluster {cluster} (create {created}, delete {deleted})");
            Assert.Equal(created == HttpStatusCode.NoContent, tenantExists);
            Assert.Equal(deleted == HttpStatusCode.NoContent, !clusterExists);
            var key = $"create {(int)created}, delete {(int)deleted}";
            outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
        }
        Assert.NotEmpty(outcomes);
    }

    [Fact]
    public async Task A_tenant_deleted_while_a_namespace_is_created_in_it_never_leaves_the_namespace_orphaned()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var tenant = await server.NewTenantAsync();
            var create = Http.PutAsync($"/admin/v2/namespaces/{tenant}/ns", null);
            var delete = Http.DeleteAsync($"/admin/v2/tenants/{tenant}");
            var (created, deleted) = ((await create).StatusCode, (await delete).StatusCode);

            var namespaceExists = await server.StoredAsync($"/admin/policies/{tenant}/ns") is not null;
            var tenantExists = await server.StoredAsync($"/admin/tenants/{tenant}") is not null;
            Assert.False(namespaceExists && !tenantExists, $"round {round}: namespace {tenant}/ns outlived its tenant (create {created}, delete {deleted})");
            Assert.Equal(created == HttpStatusCode.NoContent, namespaceExists);
            Assert.Equal(deleted == HttpStatusCode.NoContent, !tenantExists);
        }
    }
}
