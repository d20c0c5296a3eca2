using System.Net;
using Tiered.Broker.Naming;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// Producer de-duplication policies, per namespace (…/deduplication) and per topic (…/deduplicationEnabled),
/// against the real broker of <see cref="AdminLifecycleFixture"/> (broker default: on): what is stored,
/// what the broker then decides, refusals that change nothing, and nothing left behind by deletions.
/// </summary>
public sealed class DeduplicationPolicyWithBrokerTests(AdminLifecycleFixture fixture) : IClassFixture<AdminLifecycleFixture>
{
    private HttpClient Http => fixture.Http;

    private Task<string> NewNamespaceAsync() => BrokerSteps.NewNamespaceAsync(Http);

    private async Task<string?> StoredAsync(string key) => await fixture.Broker.Metadata.GetAsync(key) is { } kv ? kv.Value.ToStringUtf8() : null;

    private static string TopicPoliciesKey(string ns, string topic) => $"/admin/topic-policies/{ns}/persistent/{topic}";

    /// <summary>What the broker itself decides for the topic (its policy cache), with its default on.</summary>
    private ValueTask<bool> BrokerDecidesAsync(string ns, string topic)
        => fixture.Broker.Server.Topics.Policies.IsDeduplicationEnabledAsync(TopicName.Parse($"persistent://{ns}/{topic}"), brokerDefault: true, CancellationToken.None);

    private async Task<bool?> GetAsync(string path)
    {
        var response = await Http.GetAsync(path);
        if (response.StatusCode == HttpStatusCode.NoContent)
            return null;
        return (await Expect.OkAsync(response)).GetBoolean();
    }

    [Fact]
    public async Task The_namespace_setting_is_set_read_and_removed_and_the_broker_follows_it()
    {
        var ns = await NewNamespaceAsync();
        var path = $"/admin/v2/namespaces/{ns}/deduplication";
        var created = await StoredAsync($"/admin/policies/{ns}");
        Assert.Null(await GetAsync(path));
        Assert.True(await BrokerDecidesAsync(ns, "any"));

        await Expect.NoContentAsync(await Http.PostAsync(path, Json("false")));
        Assert.False(await GetAsync(path));
        Assert.Contains("\"deduplicationEnabled\":false", await StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
        Assert.False((await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"))).GetProperty("deduplicationEnabled").GetBoolean());
        Assert.False(await BrokerDecidesAsync(ns, "any"));

        await Expect.NoContentAsync(await Http.PostAsync(path, Json("true")));
        Assert.True(await GetAsync(path));

        await Expect.NoContentAsync(await Http.DeleteAsync(path));
        Assert.Null(await GetAsync(path));
        Assert.Equal(created, await StoredAsync($"/admin/policies/{ns}"));
        Assert.True(await BrokerDecidesAsync(ns, "any"));
    }

    [Theory]
    [InlineData("\"yes\"")]
    [InlineData("{}")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("1")]
    [InlineData("[true]")]
    public async Task A_body_other_than_true_or_false_is_refused_and_changes_nothing(string body)
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t", null));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/deduplication", Json("false")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/deduplicationEnabled", Json("false")));
        var namespaceBefore = await StoredAsync($"/admin/policies/{ns}");
        var topicBefore = await StoredAsync(TopicPoliciesKey(ns, "t"));

        var onNamespace = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/deduplication", Json(body)), HttpStatusCode.BadRequest);
        var onTopic = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/deduplicationEnabled", Json(body)), HttpStatusCode.BadRequest);
        Assert.Contains("true or false", onNamespace, StringComparison.Ordinal);
        Assert.Contains("true or false", onTopic, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", onNamespace + onTopic, StringComparison.Ordinal);
        // A bad body for a topic that does not exist is still a bad body.
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ghost/deduplicationEnabled", Json(body)), HttpStatusCode.BadRequest);

        Assert.Equal(namespaceBefore, await StoredAsync($"/admin/policies/{ns}"));
        Assert.Equal(topicBefore, await StoredAsync(TopicPoliciesKey(ns, "t")));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "ghost")));
    }

    [Fact]
    public async Task An_unknown_tenant_namespace_or_topic_is_404_with_a_reason_and_nothing_is_created()
    {
        var ns = await NewNamespaceAsync();
        var missingNs = $"public/ns-{Guid.NewGuid():N}";
        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{missingNs}/deduplication", Json("true")), HttpStatusCode.NotFound), StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/namespaces/{missingNs}/deduplication"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{missingNs}/deduplication"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PostAsync("/admin/v2/namespaces/no-such-tenant/app/deduplication", Json("true")), HttpStatusCode.NotFound);
        Assert.Null(await StoredAsync($"/admin/policies/{missingNs}"));
        Assert.Null(await StoredAsync("/admin/policies/no-such-tenant/app"));

        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{missingNs}/t/deduplicationEnabled", Json("true")), HttpStatusCode.NotFound);
        var reason = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ghost/deduplicationEnabled", Json("false")), HttpStatusCode.NotFound);
        Assert.Contains($"persistent://{ns}/ghost does not exist", reason, StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/ghost/deduplicationEnabled"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/ghost/deduplicationEnabled?applied=true"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/ghost/deduplicationEnabled"), HttpStatusCode.NotFound);
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "ghost")));
        Assert.Null(await StoredAsync(TopicPoliciesKey(missingNs, "t")));
        Assert.Empty(await fixture.Broker.Metadata.ListAsync($"/managed-ledgers/{ns}/"));
    }

    [Fact]
    public async Task The_applied_value_is_the_topics_else_the_namespaces_else_the_brokers()
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t", null));
        var own = $"/admin/v2/persistent/{ns}/t/deduplicationEnabled";
        var applied = own + "?applied=true";
        Assert.Null(await GetAsync(own));
        Assert.True(await GetAsync(applied));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/deduplication", Json("false")));
        Assert.Null(await GetAsync(own));
        Assert.False(await GetAsync(applied));
        Assert.False(await BrokerDecidesAsync(ns, "t"));

        await Expect.NoContentAsync(await Http.PostAsync(own, Json("true")));
        Assert.True(await GetAsync(own));
        Assert.True(await GetAsync(applied));
        Assert.True(await BrokerDecidesAsync(ns, "t"));
        Assert.Equal("""{"deduplicationEnabled":true}""", await StoredAsync(TopicPoliciesKey(ns, "t")));
        Assert.False(await BrokerDecidesAsync(ns, "other"));
        Assert.Contains("?applied", await Expect.ProblemAsync(await Http.GetAsync(own + "?applied=maybe"), HttpStatusCode.BadRequest), StringComparison.Ordinal);

        await Expect.NoContentAsync(await Http.PostAsync(own, Json("false")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/deduplication", Json("true")));
        Assert.False(await GetAsync(applied));
        Assert.False(await BrokerDecidesAsync(ns, "t"));

        // Unset policies are removed, not kept empty.
        await Expect.NoContentAsync(await Http.DeleteAsync(own));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "t")));
        Assert.Null(await GetAsync(own));
        Assert.True(await GetAsync(applied));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/deduplication"));
        Assert.True(await GetAsync(applied));
        Assert.True(await BrokerDecidesAsync(ns, "t"));
    }

    [Fact]
    public async Task A_partitioned_topics_setting_is_kept_under_its_name_and_applies_to_every_partition()
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("2")));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide-partition-1/deduplicationEnabled", Json("false")));
        Assert.Equal("""{"deduplicationEnabled":false}""", await StoredAsync(TopicPoliciesKey(ns, "wide")));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "wide-partition-1")));
        Assert.False(await GetAsync($"/admin/v2/persistent/{ns}/wide/deduplicationEnabled"));
        Assert.False(await GetAsync($"/admin/v2/persistent/{ns}/wide-partition-0/deduplicationEnabled?applied=true"));
        Assert.False(await BrokerDecidesAsync(ns, "wide-partition-0"));
        Assert.False(await BrokerDecidesAsync(ns, "wide-partition-1"));

        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide-partition-2/deduplicationEnabled", Json("true")), HttpStatusCode.NotFound);
        Assert.Equal("""{"deduplicationEnabled":false}""", await StoredAsync(TopicPoliciesKey(ns, "wide")));
    }

    [Fact]
    public async Task Deleting_a_topic_deletes_its_policies_and_a_topic_created_again_starts_without_them()
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/plain", null));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/plain/deduplicationEnabled", Json("false")));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("2")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide/deduplicationEnabled", Json("false")));

        // One partition's deletion keeps its partitioned topic's policies.
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/wide-partition-1"));
        Assert.NotNull(await StoredAsync(TopicPoliciesKey(ns, "wide")));

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/plain"));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/wide/partitions"));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "plain")));
        Assert.Null(await StoredAsync(TopicPoliciesKey(ns, "wide")));
        Assert.True(await BrokerDecidesAsync(ns, "plain"));

        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/plain", null));
        Assert.Null(await GetAsync($"/admin/v2/persistent/{ns}/plain/deduplicationEnabled"));
        Assert.True(await GetAsync($"/admin/v2/persistent/{ns}/plain/deduplicationEnabled?applied=true"));
    }

    [Fact]
    public async Task Deleting_a_namespace_deletes_topic_policies_left_behind_in_it()
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/deduplication", Json("false")));
        // As a topic deletion interrupted between its ledger and its policies would leave them.
        await fixture.Broker.Metadata.PutAsync(TopicPoliciesKey(ns, "gone"), """{"deduplicationEnabled":true}"""u8.ToArray());
        await fixture.Broker.Metadata.PutAsync(TopicPoliciesKey(ns, "gone-too"), """{"deduplicationEnabled":false}"""u8.ToArray());

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}"));
        Assert.Null(await StoredAsync($"/admin/policies/{ns}"));
        Assert.Empty(await fixture.Broker.Metadata.ListAsync($"/admin/topic-policies/{ns}/"));
    }
}
