using System.Net;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

public sealed class NamespaceEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task The_default_namespace_that_standalone_stored_is_listed_with_its_policies()
    {
        Assert.Contains("public/default", Expect.Strings(await Expect.OkAsync(await Http.GetAsync("/admin/v2/namespaces/public"))));
        var policies = await Expect.OkAsync(await Http.GetAsync("/admin/v2/namespaces/public/default"));
        Assert.Equal(["standalone"], Expect.Strings(policies.GetProperty("replication_clusters")));
    }

    [Fact]
    public async Task A_namespace_created_without_a_body_replicates_to_the_local_cluster()
    {
        var tenant = await server.NewTenantAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/orders", null));
        Assert.Equal([$"{tenant}/orders"], Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}"))));
        Assert.Equal(CreatedPolicies, await server.StoredAsync($"/admin/policies/{tenant}/orders"));
    }

    [Fact]
    public async Task A_namespace_can_be_created_with_policies_and_deleted()
    {
        var tenant = await server.NewTenantAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/kept",
            Json("""{"retention_policies":{"retentionTimeInMinutes":60,"retentionSizeInMB":100},"message_ttl_in_seconds":30}""")));
        var policies = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}/kept"));
        Assert.Equal(60, policies.GetProperty("retention_policies").GetProperty("retentionTimeInMinutes").GetInt32());
        Assert.Equal(30, policies.GetProperty("message_ttl_in_seconds").GetInt32());

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{tenant}/kept"));
        Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/kept"));
        Assert.True(server.Topics.WasCalled($"ListTopics {tenant}/kept"));
        Assert.True(server.Topics.WasCalled($"ListPartitionedTopics {tenant}/kept"));
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}/kept"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Creating_an_existing_namespace_is_refused_and_keeps_its_policies()
    {
        var ns = await server.NewNamespaceAsync();
        var before = await server.StoredAsync($"/admin/policies/{ns}");
        var detail = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}", Json("""{"message_ttl_in_seconds":5}""")), HttpStatusCode.Conflict);
        Assert.Contains("already exists", detail);
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task A_namespace_of_an_unknown_tenant_is_not_created()
    {
        var detail = await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/namespaces/nobody/ns", null), HttpStatusCode.NotFound);
        Assert.Contains("Tenant nobody does not exist", detail);
        Assert.Null(await server.StoredAsync("/admin/policies/nobody/ns"));
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/namespaces/nobody"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_namespace_cannot_replicate_to_a_cluster_its_tenant_does_not_allow()
    {
        var tenant = await server.NewTenantAsync();
        var detail = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/far", Json("""{"replication_clusters":["elsewhere"]}""")), HttpStatusCode.BadRequest);
        Assert.Contains("elsewhere", detail);
        Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/far"));
    }

    [Fact]
    public async Task A_namespace_with_topics_cannot_be_deleted()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/busy", null));
        var detail = await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}"), HttpStatusCode.Conflict);
        Assert.Contains("namespace has topics", detail);
        Assert.Contains($"persistent://{ns}/busy", detail);
        Assert.NotNull(await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task A_namespace_with_a_partitioned_topic_cannot_be_deleted()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("2")));
        var detail = await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}"), HttpStatusCode.Conflict);
        Assert.Contains($"persistent://{ns}/wide", detail);
        Assert.NotNull(await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task Bad_namespace_names_and_bodies_are_refused_with_the_reason()
    {
        var tenant = await server.NewTenantAsync();
        Assert.Contains("Invalid namespace name", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/n%20s", null), HttpStatusCode.BadRequest));
        Assert.Contains("Invalid JSON", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/broken", Json("{not json")), HttpStatusCode.BadRequest));
        Assert.Contains("message TTL", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/negative", Json("""{"message_ttl_in_seconds":-1}""")), HttpStatusCode.BadRequest));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}"))));
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{tenant}/missing"), HttpStatusCode.NotFound);
    }
}
