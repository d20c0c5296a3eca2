using System.Net;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

public sealed class TenantEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task The_public_tenant_that_standalone_stored_is_readable()
    {
        Assert.Contains("public", Expect.Strings(await Expect.OkAsync(await Http.GetAsync("/admin/v2/tenants"))));
        var info = await Expect.OkAsync(await Http.GetAsync("/admin/v2/tenants/public"));
        Assert.Equal(["standalone"], Expect.Strings(info.GetProperty("allowedClusters")));
        Assert.Empty(Expect.Strings(info.GetProperty("adminRoles")));
    }

    [Fact]
    public async Task A_tenant_can_be_created_updated_listed_and_deleted()
    {
        await Expect.NoContentAsync(await Http.PutAsync("/admin/v2/tenants/acme", Json("""{"adminRoles":["ops"],"allowedClusters":["standalone"]}""")));
        Assert.Contains("acme", Expect.Strings(await Expect.OkAsync(await Http.GetAsync("/admin/v2/tenants"))));
        Assert.Equal("""{"adminRoles":["ops"],"allowedClusters":["standalone"]}""", await server.StoredAsync("/admin/tenants/acme"));

        await Expect.NoContentAsync(await Http.PostAsync("/admin/v2/tenants/acme", Json("""{"adminRoles":["ops","dev"],"allowedClusters":["standalone"]}""")));
        Assert.Equal(["ops", "dev"], Expect.Strings((await Expect.OkAsync(await Http.GetAsync("/admin/v2/tenants/acme"))).GetProperty("adminRoles")));

        await Expect.NoContentAsync(await Http.DeleteAsync("/admin/v2/tenants/acme"));
        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/tenants/acme"), HttpStatusCode.NotFound));
        Assert.Null(await server.StoredAsync("/admin/tenants/acme"));
    }

    [Fact]
    public async Task Creating_an_existing_tenant_is_refused_and_keeps_it_unchanged()
    {
        var tenant = await server.NewTenantAsync();
        var before = await server.StoredAsync($"/admin/tenants/{tenant}");
        var detail = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/tenants/{tenant}", Json("""{"adminRoles":["intruder"],"allowedClusters":["standalone"]}""")), HttpStatusCode.Conflict);
        Assert.Contains("already exists", detail);
        Assert.Equal(before, await server.StoredAsync($"/admin/tenants/{tenant}"));
    }

    [Fact]
    public async Task A_tenant_whose_cluster_does_not_exist_is_not_created()
    {
        var detail = await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/tenants/lost", Json("""{"allowedClusters":["standalone","mars"]}""")), HttpStatusCode.BadRequest);
        Assert.Contains("mars", detail);
        Assert.Null(await server.StoredAsync("/admin/tenants/lost"));
        Assert.Contains("at least one cluster", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/tenants/lost", Json("""{"allowedClusters":[]}""")), HttpStatusCode.BadRequest));
        Assert.Null(await server.StoredAsync("/admin/tenants/lost"));
    }

    [Fact]
    public async Task A_tenant_with_namespaces_cannot_be_deleted()
    {
        var ns = await server.NewNamespaceAsync();
        var tenant = ns.Split('/')[0];
        var detail = await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/tenants/{tenant}"), HttpStatusCode.Conflict);
        Assert.Contains(ns, detail);
        Assert.NotNull(await server.StoredAsync($"/admin/tenants/{tenant}"));
        Assert.NotNull(await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task A_cluster_that_a_namespace_replicates_to_cannot_be_removed_from_its_tenant()
    {
        await Expect.NoContentAsync(await Http.PutAsync("/admin/v2/clusters/west", Json("""{"serviceUrl":"http://west"}""")));
        var tenant = await server.NewTenantAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/tenants/{tenant}", Json("""{"allowedClusters":["standalone","west"]}""")));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/geo", Json("""{"replication_clusters":["west"]}""")));
        var before = await server.StoredAsync($"/admin/tenants/{tenant}");

        var detail = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/tenants/{tenant}", Json("""{"allowedClusters":["standalone"]}""")), HttpStatusCode.Conflict);
        Assert.Contains($"{tenant}/geo", detail);
        Assert.Equal(before, await server.StoredAsync($"/admin/tenants/{tenant}"));
    }

    [Fact]
    public async Task Unknown_tenants_and_bad_names_or_bodies_are_refused_with_the_reason()
    {
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/tenants/ghost"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PostAsync("/admin/v2/tenants/ghost", Json("""{"allowedClusters":["standalone"]}""")), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.DeleteAsync("/admin/v2/tenants/ghost"), HttpStatusCode.NotFound);
        Assert.Null(await server.StoredAsync("/admin/tenants/ghost"));

        Assert.Contains("Invalid tenant name", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/tenants/a%2Ab", Json("""{"allowedClusters":["standalone"]}""")), HttpStatusCode.BadRequest));
        var detail = await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/tenants/bodyless", Json("""{"allowedClusters":"standalone"}""")), HttpStatusCode.BadRequest);
        Assert.Contains("allowedClusters", detail);
        var huge = $$"""{"adminRoles":["{{new string('r', 2 * 1024 * 1024)}}"],"allowedClusters":["standalone"]}""";
        Assert.Contains("larger than", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/tenants/bodyless", Json(huge)), HttpStatusCode.BadRequest));
        Assert.Null(await server.StoredAsync("/admin/tenants/bodyless"));
    }
}
