using System.Net;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

public sealed class NamespacePolicyEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task Retention_can_be_set_read_and_removed()
    {
        var ns = await server.NewNamespaceAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync($"/admin/v2/namespaces/{ns}/retention")).StatusCode);

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":-1,"retentionSizeInMB":1024}""")));
        var retention = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/retention"));
        Assert.Equal(-1, retention.GetProperty("retentionTimeInMinutes").GetInt32());
        Assert.Equal(1024, retention.GetProperty("retentionSizeInMB").GetInt64());
        Assert.Contains("\"retention_policies\":{\"retentionTimeInMinutes\":-1,\"retentionSizeInMB\":1024}", await server.StoredAsync($"/admin/policies/{ns}"));

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/retention"));
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync($"/admin/v2/namespaces/{ns}/retention")).StatusCode);
        Assert.Equal(CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task A_bad_retention_is_refused_and_keeps_the_stored_one()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":10,"retentionSizeInMB":10}""")));
        var before = await server.StoredAsync($"/admin/policies/{ns}");

        Assert.Contains("-1 instead of 0", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":0,"retentionSizeInMB":10}""")), HttpStatusCode.BadRequest));
        Assert.Contains("retentionSizeInMB", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":5}""")), HttpStatusCode.BadRequest));
        Assert.Contains("Invalid JSON", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":"soon","retentionSizeInMB":1}""")), HttpStatusCode.BadRequest));
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task Message_ttl_is_a_bare_integer_of_seconds()
    {
        var ns = await server.NewNamespaceAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync($"/admin/v2/namespaces/{ns}/messageTTL")).StatusCode);
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/messageTTL", Json("120")));
        Assert.Equal(120, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/messageTTL"))).GetInt32());
        Assert.Equal(120, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"))).GetProperty("message_ttl_in_seconds").GetInt32());

        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/messageTTL", Json("-5")), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/messageTTL", Json("\"two minutes\"")), HttpStatusCode.BadRequest);
        Assert.Equal(120, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/messageTTL"))).GetInt32());

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/messageTTL"));
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync($"/admin/v2/namespaces/{ns}/messageTTL")).StatusCode);
    }

    [Fact]
    public async Task Offload_threshold_deletion_lag_and_store_are_set_with_put_or_post_and_bad_values_are_refused()
    {
        var ns = await server.NewNamespaceAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync($"/admin/v2/namespaces/{ns}/offloadThreshold")).StatusCode);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/offloadThreshold", Json("1048576")));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/offloadDeletionLagMs", Json("60000")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/offloadPolicies",
            Json("""{"managedLedgerOffloadDriver":"aws-s3","managedLedgerOffloadBucket":"b","managedLedgerOffloadServiceEndpoint":"http://127.0.0.1:9","managedLedgerOffloadPathStyleAccess":true}""")));
        var policies = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"));
        Assert.Equal(1048576, policies.GetProperty("offload_threshold").GetInt64());
        Assert.Equal(60000, policies.GetProperty("offload_deletion_lag_ms").GetInt64());
        Assert.Equal(60000, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/offloadDeletionLag"))).GetInt64());
        Assert.Equal("b", policies.GetProperty("offload_policies").GetProperty("managedLedgerOffloadBucket").GetString());
        var before = await server.StoredAsync($"/admin/policies/{ns}");

        Assert.Contains("-1 (offload off)", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/offloadThreshold", Json("-2")), HttpStatusCode.BadRequest));
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/offloadDeletionLag", Json("-1")), HttpStatusCode.BadRequest);
        Assert.Contains("tape", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/offloadPolicies", Json("""{"managedLedgerOffloadDriver":"tape"}""")), HttpStatusCode.BadRequest));
        Assert.Contains("bucket", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/offloadPolicies", Json("""{"managedLedgerOffloadDriver":"aws-s3"}""")), HttpStatusCode.BadRequest));
        Assert.Contains("directory", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/offloadPolicies", Json("""{"managedLedgerOffloadDriver":"filesystem"}""")), HttpStatusCode.BadRequest));
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/offloadPolicies"));
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync($"/admin/v2/namespaces/{ns}/offloadPolicies")).StatusCode);
    }

    [Fact]
    public async Task Auto_topic_creation_can_be_overridden_and_removed()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/autoTopicCreation",
            Json("""{"allowAutoTopicCreation":true,"topicType":"partitioned","defaultNumPartitions":3}""")));
        var value = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/autoTopicCreation"));
        Assert.True(value.GetProperty("allowAutoTopicCreation").GetBoolean());
        Assert.Equal("partitioned", value.GetProperty("topicType").GetString());
        Assert.Equal(3, value.GetProperty("defaultNumPartitions").GetInt32());

        var before = await server.StoredAsync($"/admin/policies/{ns}");
        Assert.Contains("defaultNumPartitions", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/autoTopicCreation",
            Json("""{"allowAutoTopicCreation":true,"topicType":"partitioned"}""")), HttpStatusCode.BadRequest));
        Assert.Contains("sharded", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/autoTopicCreation",
            Json("""{"allowAutoTopicCreation":true,"topicType":"sharded"}""")), HttpStatusCode.BadRequest));
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/autoTopicCreation"));
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync($"/admin/v2/namespaces/{ns}/autoTopicCreation")).StatusCode);
    }

    [Fact]
    public async Task Policies_of_an_unknown_namespace_answer_404_and_store_nothing()
    {
        var tenant = await server.NewTenantAsync();
        Assert.Contains($"Namespace {tenant}/nope does not exist", await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}/nope/retention"), HttpStatusCode.NotFound));
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{tenant}/nope/messageTTL", Json("10")), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{tenant}/nope/autoTopicCreation"), HttpStatusCode.NotFound);
        Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/nope"));
    }

    [Fact]
    public async Task Concurrent_policy_updates_are_all_applied()
    {
        var ns = await server.NewNamespaceAsync();
        var responses = await Task.WhenAll(
            Http.PostAsync($"/admin/v2/namespaces/{ns}/messageTTL", Json("60")),
            Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":5,"retentionSizeInMB":5}""")),
            Http.PostAsync($"/admin/v2/namespaces/{ns}/autoTopicCreation", Json("""{"allowAutoTopicCreation":false}""")));
        foreach (var response in responses)
            await Expect.NoContentAsync(response);
        var policies = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"));
        Assert.Equal(60, policies.GetProperty("message_ttl_in_seconds").GetInt32());
        Assert.Equal(5, policies.GetProperty("retention_policies").GetProperty("retentionSizeInMB").GetInt64());
        Assert.False(policies.GetProperty("autoTopicCreationOverride").GetProperty("allowAutoTopicCreation").GetBoolean());
    }
}
