using System.Net;
using Tiered.Broker.Naming;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// Geo-replication configuration against the real broker of <see cref="AdminLifecycleFixture"/> (cluster "standalone"):
/// namespace and topic replication clusters, the clusters they name and the tenants that allow them. Every refusal
/// answers Pulsar's status with a reason and changes nothing (the namespace, topic, tenant and cluster records are compared).
/// </summary>
public sealed class ReplicationConfigWithBrokerTests(AdminLifecycleFixture fixture) : IClassFixture<AdminLifecycleFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    private async Task<string?> StoredAsync(string key) => await fixture.Broker.Metadata.GetAsync(key) is { } kv ? kv.Value.ToStringUtf8() : null;

    private static string TopicPoliciesKey(string ns, string topic) => $"/admin/topic-policies/{ns}/persistent/{topic}";

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A registered cluster of its own.</summary>
    private async Task<string> NewClusterAsync()
    {
        var cluster = Unique("remote");
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/clusters/{cluster}", Json($$"""{"serviceUrl":"http://{{cluster}}:8080","brokerServiceUrl":"http://{{cluster}}:6650"}""")));
        return cluster;
    }

    /// <summary>A tenant of its own allowed on "standalone" and <paramref name="others"/>, with a namespace "ns"; returns "tenant/ns".</summary>
    private async Task<string> NewNamespaceAsync(params string[] others)
    {
        var tenant = Unique("geo");
        var allowed = string.Join(",", ((string[])["standalone", .. others]).Select(c => $"\"{c}\""));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/tenants/{tenant}", Json($$"""{"adminRoles":[],"allowedClusters":[{{allowed}}]}""")));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/ns", null));
        return $"{tenant}/ns";
    }

    private async Task<string[]> ListAsync(string path) => Expect.Strings(await Expect.OkAsync(await Http.GetAsync(path)));

    /// <summary>What the broker itself will replicate the topic to (its policy cache, which follows the store's changes).</summary>
    private async Task BrokerReplicatesAsync(string topic, params string[] expected)
    {
        var name = TopicName.Parse($"persistent://{topic}");
        var deadline = DateTime.UtcNow + Wait;
        IReadOnlyList<string> seen;
        while (!(seen = await fixture.Broker.Server.Topics.Policies.GetReplicationClustersAsync(name, CancellationToken.None)).SequenceEqual(expected))
        {
            Assert.True(DateTime.UtcNow < deadline, $"The broker replicates {topic} to [{string.Join(", ", seen)}], expected [{string.Join(", ", expected)}].");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_namespaces_replication_clusters_are_set_and_read_and_the_broker_follows_them()
    {
        var east = await NewClusterAsync();
        var ns = await NewNamespaceAsync(east);
        Assert.Equal(["standalone"], await ListAsync($"/admin/v2/namespaces/{ns}/replication"));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/replication", Json($"""["standalone","{east}","standalone"]""")));
        Assert.Equal(["standalone", east], await ListAsync($"/admin/v2/namespaces/{ns}/replication"));
        Assert.Contains($"\"replication_clusters\":[\"standalone\",\"{east}\"]", await StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
        Assert.Equal(["standalone", east], Expect.Strings((await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"))).GetProperty("replication_clusters")));
        await BrokerReplicatesAsync($"{ns}/any", "standalone", east);

        // Other policies are kept.
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/deduplication", Json("false")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/replication", Json("""["standalone"]""")));
        Assert.Equal(["standalone"], await ListAsync($"/admin/v2/namespaces/{ns}/replication"));
        Assert.Contains("\"deduplicationEnabled\":false", await StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
        await BrokerReplicatesAsync($"{ns}/any", "standalone");
    }

    /// <summary>Each bad list, its status and a part of its reason ({0}: a registered cluster the tenant allows, {1}: one it does not).</summary>
    public static TheoryData<string, HttpStatusCode, string> BadLists => new()
    {
        { "", HttpStatusCode.BadRequest, "required" },
        { "null", HttpStatusCode.BadRequest, "required" },
        { "\"standalone\"", HttpStatusCode.BadRequest, "array" },
        { """{"clusters":["standalone"]}""", HttpStatusCode.BadRequest, "array" },
        { "[1]", HttpStatusCode.BadRequest, "Invalid JSON" },
        { "[null]", HttpStatusCode.BadRequest, "not null" },
        { """["standalone","b d"]""", HttpStatusCode.BadRequest, "Invalid cluster name" },
        { "[\"standalone\",", HttpStatusCode.BadRequest, "Invalid JSON" },
        { "[]", HttpStatusCode.PreconditionFailed, "empty" },
        { """["{0}"]""", HttpStatusCode.PreconditionFailed, "must include the local cluster standalone" },
        { """["standalone","nowhere"]""", HttpStatusCode.Forbidden, "nowhere is not registered" },
        { """["standalone","{1}"]""", HttpStatusCode.Forbidden, "allowedClusters" },
    };

    [Theory]
    [MemberData(nameof(BadLists))]
    public async Task A_bad_list_is_refused_with_pulsars_status_and_a_reason_and_changes_nothing(string body, HttpStatusCode status, string reason)
    {
        var allowed = await NewClusterAsync();
        var notAllowed = await NewClusterAsync();
        var ns = await NewNamespaceAsync(allowed);
        var tenant = ns.Split('/')[0];
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t", null));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/deduplicationEnabled", Json("false")));
        string?[] Keys() => [$"/admin/policies/{ns}", TopicPoliciesKey(ns, "t"), $"/admin/tenants/{tenant}", $"/admin/clusters/{allowed}", $"/admin/clusters/{notAllowed}", "/admin/clusters/standalone"];
        var before = await Task.WhenAll(Keys().Select(k => StoredAsync(k!)));
        body = body.Replace("{0}", allowed, StringComparison.Ordinal).Replace("{1}", notAllowed, StringComparison.Ordinal);

        var onNamespace = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/replication", Json(body)), status);
        var onTopic = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/replication", Json(body)), status);
        var onPartition = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t-partition-0/replication", Json(body)),
            status == HttpStatusCode.BadRequest ? status : HttpStatusCode.NotFound);
        Assert.Contains(reason, onNamespace, StringComparison.Ordinal);
        Assert.Contains(reason, onTopic, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", onNamespace + onTopic + onPartition, StringComparison.Ordinal);
        var problem = (await Http.PostAsync($"/admin/v2/namespaces/{ns}/replication", Json(body))).Content.ReadAsStringAsync();
        Assert.Contains("\"reason\"", await problem, StringComparison.Ordinal);

        Assert.Equal(before, await Task.WhenAll(Keys().Select(k => StoredAsync(k!))));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "t-partition-0")));
        await BrokerReplicatesAsync($"{ns}/t", "standalone");
    }

    [Fact]
    public async Task An_unknown_tenant_namespace_or_topic_is_404_and_nothing_is_created()
    {
        var ns = await NewNamespaceAsync();
        var missingNs = $"{ns.Split('/')[0]}/missing";
        foreach (var path in (string[])[$"/admin/v2/namespaces/{missingNs}/replication", "/admin/v2/namespaces/no-such-tenant/app/replication",
            $"/admin/v2/persistent/{missingNs}/t/replication", $"/admin/v2/persistent/{ns}/ghost/replication"])
        {
            Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.PostAsync(path, Json("""["standalone"]""")), HttpStatusCode.NotFound), StringComparison.Ordinal);
            await Expect.ProblemAsync(await Http.GetAsync(path), HttpStatusCode.NotFound);
        }
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/ghost/replication?applied=true"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/ghost/replication"), HttpStatusCode.NotFound);
        Assert.Null(await StoredAsync($"/admin/policies/{missingNs}"));
        Assert.Null(await StoredAsync("/admin/policies/no-such-tenant/app"));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "ghost")));
        Assert.Null(await StoredAsync(TopicPoliciesKey(missingNs, "t")));
    }

    [Fact]
    public async Task A_topics_own_list_overrides_its_namespaces_and_is_removed_with_delete()
    {
        var east = await NewClusterAsync();
        var ns = await NewNamespaceAsync(east);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t", null));
        var own = $"/admin/v2/persistent/{ns}/t/replication";
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync(own)).StatusCode);
        Assert.Equal(["standalone"], await ListAsync(own + "?applied=true"));

        await Expect.NoContentAsync(await Http.PostAsync(own, Json($"""["{east}","standalone"]""")));
        Assert.Equal([east, "standalone"], await ListAsync(own));
        Assert.Equal([east, "standalone"], await ListAsync(own + "?applied=true"));
        Assert.Equal($$"""{"replication_clusters":["{{east}}","standalone"]}""", await StoredAsync(TopicPoliciesKey(ns, "t")));
        Assert.Equal(["standalone"], await ListAsync($"/admin/v2/namespaces/{ns}/replication"));
        await BrokerReplicatesAsync($"{ns}/t", east, "standalone");
        await BrokerReplicatesAsync($"{ns}/other", "standalone");

        // Kept beside the topic's other policies; removing it leaves those.
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/deduplicationEnabled", Json("false")));
        await Expect.NoContentAsync(await Http.DeleteAsync(own));
        Assert.Equal("""{"deduplicationEnabled":false}""", await StoredAsync(TopicPoliciesKey(ns, "t")));
        Assert.Equal(HttpStatusCode.NoContent, (await Http.GetAsync(own)).StatusCode);
        await BrokerReplicatesAsync($"{ns}/t", "standalone");

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/replication", Json($"""["standalone","{east}"]""")));
        Assert.Equal(["standalone", east], await ListAsync(own + "?applied=true"));
        Assert.Contains("?applied", await Expect.ProblemAsync(await Http.GetAsync(own + "?applied=maybe"), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partitioned_topics_list_is_kept_under_its_name_and_applies_to_every_partition()
    {
        var east = await NewClusterAsync();
        var ns = await NewNamespaceAsync(east);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("2")));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide-partition-1/replication", Json($"""["standalone","{east}"]""")));
        Assert.Equal($$"""{"replication_clusters":["standalone","{{east}}"]}""", await StoredAsync(TopicPoliciesKey(ns, "wide")));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "wide-partition-1")));
        Assert.Equal(["standalone", east], await ListAsync($"/admin/v2/persistent/{ns}/wide/replication"));
        Assert.Equal(["standalone", east], await ListAsync($"/admin/v2/persistent/{ns}/wide-partition-0/replication?applied=true"));
        await BrokerReplicatesAsync($"{ns}/wide-partition-0", "standalone", east);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide-partition-2/replication", Json("""["standalone"]""")), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_cluster_a_replication_list_names_cannot_be_deleted_nor_dropped_by_its_tenant()
    {
        var east = await NewClusterAsync();
        var ns = await NewNamespaceAsync(east);
        var tenant = ns.Split('/')[0];
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t", null));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/replication", Json($"""["standalone","{east}"]""")));
        var cluster = await StoredAsync($"/admin/clusters/{east}");
        var tenantBefore = await StoredAsync($"/admin/tenants/{tenant}");

        var detail = await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/clusters/{east}"), HttpStatusCode.PreconditionFailed);
        Assert.Contains($"namespace {ns}", detail, StringComparison.Ordinal);
        Assert.Equal(cluster, await StoredAsync($"/admin/clusters/{east}"));

        // Named by a topic's own list only.
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/replication", Json($"""["standalone","{east}"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/replication", Json("""["standalone"]""")));
        detail = await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/clusters/{east}"), HttpStatusCode.PreconditionFailed);
        Assert.Contains($"topic persistent://{ns}/t", detail, StringComparison.Ordinal);
        Assert.Equal(cluster, await StoredAsync($"/admin/clusters/{east}"));
        detail = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/tenants/{tenant}", Json("""{"allowedClusters":["standalone"]}""")), HttpStatusCode.Conflict);
        Assert.Contains($"persistent://{ns}/t", detail, StringComparison.Ordinal);
        Assert.Equal(tenantBefore, await StoredAsync($"/admin/tenants/{tenant}"));

        // Unnamed, then no longer allowed: it can go.
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/t/replication"));
        Assert.Contains(tenant, await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/clusters/{east}"), HttpStatusCode.Conflict), StringComparison.Ordinal);
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/tenants/{tenant}", Json("""{"allowedClusters":["standalone"]}""")));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/clusters/{east}"));
        Assert.Null(await StoredAsync($"/admin/clusters/{east}"));
    }

    [Theory]
    [InlineData("""{"serviceUrl":"east:8080"}""", "serviceUrl")]
    [InlineData("""{"serviceUrl":"ftp://east:8080"}""", "serviceUrl")]
    [InlineData("""{"serviceUrl":"/relative"}""", "serviceUrl")]
    [InlineData("""{"serviceUrl":"http://"}""", "serviceUrl")]
    [InlineData("""{"brokerServiceUrl":"pulsar://east:6650"}""", "brokerServiceUrl")]
    [InlineData("""{"brokerServiceUrl":"east"}""", "brokerServiceUrl")]
    [InlineData("""{"brokerServiceUrl":"east:0"}""", "brokerServiceUrl")]
    [InlineData("""{"brokerServiceUrl":"east:70000"}""", "brokerServiceUrl")]
    [InlineData("""{"brokerServiceUrl":"east:66/x"}""", "brokerServiceUrl")]
    [InlineData("""{"brokerServiceUrl":"bad host:6650"}""", "brokerServiceUrl")]
    public async Task A_malformed_url_is_refused_on_create_and_update_and_changes_nothing(string body, string field)
    {
        var created = Unique("bad");
        var detail = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/clusters/{created}", Json(body)), HttpStatusCode.BadRequest);
        Assert.Contains($"Invalid {field}", detail, StringComparison.Ordinal);
        Assert.Null(await StoredAsync($"/admin/clusters/{created}"));

        var existing = await NewClusterAsync();
        var before = await StoredAsync($"/admin/clusters/{existing}");
        Assert.Contains($"Invalid {field}", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/clusters/{existing}", Json(body)), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Equal(before, await StoredAsync($"/admin/clusters/{existing}"));
    }

    [Theory]
    [InlineData("http://east:8080", "http://east:6650")]
    [InlineData("https://east.example.com", "https://east.example.com:6651")]
    [InlineData("http://10.0.0.1:8080", "east-broker:6650")]
    [InlineData("http://[::1]:8080", "[::1]:6650")]
    [InlineData("http://east:8080", "10.0.0.2:6650")]
    public async Task Good_urls_are_stored_as_given(string serviceUrl, string brokerServiceUrl)
    {
        var cluster = Unique("good");
        var body = $$"""{"serviceUrl":"{{serviceUrl}}","brokerServiceUrl":"{{brokerServiceUrl}}"}""";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/clusters/{cluster}", Json(body)));
        Assert.Equal(body, await StoredAsync($"/admin/clusters/{cluster}"));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/clusters/{cluster}"));
    }
}
