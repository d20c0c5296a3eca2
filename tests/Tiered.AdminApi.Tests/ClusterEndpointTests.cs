using System.Net;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

public sealed class ClusterEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task The_standalone_cluster_is_listed_and_readable_as_standalone_stored_it()
    {
        Assert.Contains("standalone", Expect.Strings(await Expect.OkAsync(await Http.GetAsync("/admin/v2/clusters"))));
        var data = await Expect.OkAsync(await Http.GetAsync("/admin/v2/clusters/standalone"));
        Assert.Equal("http://127.0.0.1:6650", data.GetProperty("serviceUrl").GetString());
        Assert.Equal("http://127.0.0.1:6650", data.GetProperty("brokerServiceUrl").GetString());
    }

    [Fact]
    public async Task A_cluster_can_be_created_updated_and_deleted()
    {
        await Expect.NoContentAsync(await Http.PutAsync("/admin/v2/clusters/east", Json("""{"serviceUrl":"http://east:8080","brokerServiceUrl":"http://east:6650"}""")));
        Assert.Equal("http://east:8080", (await Expect.OkAsync(await Http.GetAsync("/admin/v2/clusters/east"))).GetProperty("serviceUrl").GetString());
        Assert.Equal("""{"serviceUrl":"http://east:8080","brokerServiceUrl":"http://east:6650"}""", await server.StoredAsync("/admin/clusters/east"));

        await Expect.NoContentAsync(await Http.PostAsync("/admin/v2/clusters/east", Json("""{"serviceUrl":"http://east2:8080","brokerServiceUrl":"http://east2:6650"}""")));
        Assert.Equal("http://east2:6650", (await Expect.OkAsync(await Http.GetAsync("/admin/v2/clusters/east"))).GetProperty("brokerServiceUrl").GetString());

        await Expect.NoContentAsync(await Http.DeleteAsync("/admin/v2/clusters/east"));
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/clusters/east"), HttpStatusCode.NotFound);
        Assert.DoesNotContain("east", Expect.Strings(await Expect.OkAsync(await Http.GetAsync("/admin/v2/clusters"))));
    }

    [Fact]
    public async Task Creating_an_existing_cluster_is_refused_and_keeps_its_data()
    {
        await Expect.NoContentAsync(await Http.PutAsync("/admin/v2/clusters/dup", Json("""{"serviceUrl":"http://one"}""")));
        var detail = await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/clusters/dup", Json("""{"serviceUrl":"http://two"}""")), HttpStatusCode.Conflict);
        Assert.Contains("already exists", detail);
        Assert.Equal("""{"serviceUrl":"http://one"}""", await server.StoredAsync("/admin/clusters/dup"));
    }

    [Fact]
    public async Task Updating_or_deleting_an_unknown_cluster_answers_404()
    {
        await Expect.ProblemAsync(await Http.PostAsync("/admin/v2/clusters/nowhere", Json("""{"serviceUrl":"http://x"}""")), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.DeleteAsync("/admin/v2/clusters/nowhere"), HttpStatusCode.NotFound);
        Assert.Null(await server.StoredAsync("/admin/clusters/nowhere"));
    }

    [Fact]
    public async Task A_cluster_a_replication_list_names_cannot_be_deleted_and_the_namespace_is_named()
    {
        var detail = await Expect.ProblemAsync(await Http.DeleteAsync("/admin/v2/clusters/standalone"), HttpStatusCode.PreconditionFailed);
        Assert.Contains("public/default", detail);
        Assert.NotNull(await server.StoredAsync("/admin/clusters/standalone"));
    }

    [Fact]
    public async Task A_cluster_a_tenant_allows_cannot_be_deleted()
    {
        await Expect.NoContentAsync(await Http.PutAsync("/admin/v2/clusters/allowed-only", Json("""{"serviceUrl":"http://allowed-only:8080"}""")));
        var tenant = await server.NewTenantAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/tenants/{tenant}", Json("""{"allowedClusters":["standalone","allowed-only"]}""")));
        var detail = await Expect.ProblemAsync(await Http.DeleteAsync("/admin/v2/clusters/allowed-only"), HttpStatusCode.Conflict);
        Assert.Contains(tenant, detail);
        Assert.NotNull(await server.StoredAsync("/admin/clusters/allowed-only"));
    }

    [Fact]
    public async Task A_bad_cluster_name_or_body_is_refused_with_the_reason()
    {
        Assert.Contains("Invalid cluster name", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/clusters/b%20d", Json("{}")), HttpStatusCode.BadRequest));
        Assert.Contains("Invalid JSON", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/clusters/badjson", Json("""{"serviceUrl":""")), HttpStatusCode.BadRequest));
        Assert.Contains("required", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/clusters/nobody", null), HttpStatusCode.BadRequest));
        Assert.Contains("absolute http:// or https:// URL", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/clusters/badurl", Json("""{"serviceUrl":"east:8080"}""")), HttpStatusCode.BadRequest));
        Assert.Null(await server.StoredAsync("/admin/clusters/badurl"));
        Assert.Null(await server.StoredAsync("/admin/clusters/badjson"));
        Assert.Null(await server.StoredAsync("/admin/clusters/nobody"));
    }
}
