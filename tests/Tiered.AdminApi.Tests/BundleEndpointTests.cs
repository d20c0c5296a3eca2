using System.Net;
using System.Text.Json;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// Namespace bundles through the API layer: how many a namespace is created with, their boundaries,
/// splits (compare-and-set on the namespace's policies) and unloads, which reach the broker only
/// through <see cref="IOwnershipGate"/> (here <see cref="RecordingOwnershipGate"/>); and the HTTP lookup.
/// </summary>
public sealed class BundleEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private static readonly string[] FourBundles = ["0x00000000", "0x40000000", "0x80000000", "0xc0000000", "0xffffffff"];

    private HttpClient Http => server.Http;

    private static NamespaceName NamespaceOf(string ns) => NamespaceName.Create(ns[..ns.IndexOf('/')], ns[(ns.IndexOf('/') + 1)..]);

    private async Task<string[]> BoundariesAsync(string ns, int expectedCount)
    {
        var bundles = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/bundles"));
        Assert.Equal(expectedCount, bundles.GetProperty("numBundles").GetInt32());
        return Expect.Strings(bundles.GetProperty("boundaries"));
    }

    private async Task<string> CreateAsync(string body)
    {
        var tenant = await server.NewTenantAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/ns", Json(body)));
        return $"{tenant}/ns";
    }

    [Fact]
    public async Task A_namespace_created_with_8_bundles_has_8_of_equal_width_shown_in_its_policies_too()
    {
        var ns = await CreateAsync("""{"bundles":{"numBundles":8}}""");
        string[] eight = ["0x00000000", "0x20000000", "0x40000000", "0x60000000", "0x80000000", "0xa0000000", "0xc0000000", "0xe0000000", "0xffffffff"];
        Assert.Equal(eight, await BoundariesAsync(ns, 8));
        var policies = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"));
        Assert.Equal(8, policies.GetProperty("bundles").GetProperty("numBundles").GetInt32());
        Assert.Equal(eight, Expect.Strings(policies.GetProperty("bundles").GetProperty("boundaries")));
        Assert.Equal(["standalone"], Expect.Strings(policies.GetProperty("replication_clusters")));
    }

    [Fact]
    public async Task Pulsars_top_level_numBundles_and_explicit_boundaries_are_taken_too()
    {
        Assert.Equal(["0x00000000", "0x80000000", "0xffffffff"], await BoundariesAsync(await CreateAsync("""{"numBundles":2}"""), 2));
        Assert.Equal(["0x00000000", "0x10000000", "0xffffffff"],
            await BoundariesAsync(await CreateAsync("""{"bundles":{"boundaries":["0x00000000","0x10000000","0xffffffff"],"numBundles":2}}"""), 2));
        Assert.Equal(["0x00000000", "0xffffffff"], await BoundariesAsync(await CreateAsync("""{"numBundles":1,"message_ttl_in_seconds":5}"""), 1));
    }

    [Fact]
    public async Task A_namespace_created_without_a_count_gets_the_default_4()
    {
        var ns = await server.NewNamespaceAsync();
        Assert.Equal(FourBundles, await BoundariesAsync(ns, 4));
        Assert.Equal(CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Theory]
    [InlineData("""{"bundles":{"numBundles":0}}""", "Invalid number of bundles 0")]
    [InlineData("""{"numBundles":1025}""", "1 to 1024 bundles")]
    [InlineData("""{"numBundles":-3}""", "Invalid number of bundles -3")]
    [InlineData("""{"numBundles":"many"}""", "the value at $.numBundles is not an integer")]
    [InlineData("""{"numBundles":3,"bundles":{"numBundles":2}}""", "differ")]
    [InlineData("""{"bundles":{"boundaries":["0x00000000","0x10000000"]}}""", "from 0x00000000 to 0xffffffff")]
    [InlineData("""{"bundles":{"boundaries":["0x00000000","0x90000000","0x80000000","0xffffffff"]}}""", "strictly increasing")]
    [InlineData("""{"bundles":{"boundaries":["0x00000000","0x80000000","0xffffffff"],"numBundles":3}}""", "does not match the 2 bundles")]
    public async Task A_bad_bundle_count_is_refused_with_the_reason_and_creates_nothing(string body, string reason)
    {
        var tenant = await server.NewTenantAsync();
        var detail = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/bad", Json(body)), HttpStatusCode.BadRequest);
        Assert.True(detail.Contains(reason, StringComparison.Ordinal), detail);
        Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/bad"));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}"))));
    }

    [Fact]
    public async Task A_namespace_stored_before_bundles_has_one_bundle_and_its_record_is_not_rewritten()
    {
        var before = await server.StoredAsync("/admin/policies/public/default");
        Assert.DoesNotContain("bundles", before, StringComparison.Ordinal);
        Assert.Equal(["0x00000000", "0xffffffff"], await BoundariesAsync("public/default", 1));
        var policies = await Expect.OkAsync(await Http.GetAsync("/admin/v2/namespaces/public/default"));
        Assert.Equal(1, policies.GetProperty("bundles").GetProperty("numBundles").GetInt32());
        await Expect.NoContentAsync(await Http.PutAsync("/admin/v2/namespaces/public/default/unload", null));
        Assert.Equal(before, await server.StoredAsync("/admin/policies/public/default"));
    }

    [Fact]
    public async Task A_namespace_stored_before_bundles_splits_its_one_bundle_into_two()
    {
        var tenant = await server.NewTenantAsync();
        await server.Store.PutAsync($"/admin/policies/{tenant}/old", """{"replication_clusters":["standalone"],"message_ttl_in_seconds":7}"""u8.ToArray());
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/old/0x00000000_0xffffffff/split", null));
        Assert.Equal(["0x00000000", "0x7fffffff", "0xffffffff"], await BoundariesAsync($"{tenant}/old", 2));
        Assert.Equal(["0x00000000_0xffffffff"], server.Ownership.UnloadedIn($"{tenant}/old"));
        Assert.Equal(7, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}/old"))).GetProperty("message_ttl_in_seconds").GetInt32());
    }

    [Fact]
    public async Task Splitting_a_bundle_cuts_it_at_its_middle_keeps_the_other_policies_and_unloads_it()
    {
        var ns = await CreateAsync("""{"message_ttl_in_seconds":30}""");
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x40000000_0x80000000/split?unload=false&splitAlgorithmName=range_equally_divide", null));
        Assert.Equal(["0x00000000", "0x40000000", "0x60000000", "0x80000000", "0xc0000000", "0xffffffff"], await BoundariesAsync(ns, 5));
        Assert.Equal(["0x40000000_0x80000000"], server.Ownership.UnloadedIn(ns));
        Assert.Equal(30, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"))).GetProperty("message_ttl_in_seconds").GetInt32());

        // The last bundle also holds 0xffffffff; its halves still cover it.
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0xc0000000_0xffffffff/split", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x00000000_0x40000000/split?unload=true", null));
        var boundaries = await BoundariesAsync(ns, 7);
        Assert.Equal(["0x00000000", "0x20000000", "0x40000000", "0x60000000", "0x80000000", "0xc0000000", "0xdfffffff", "0xffffffff"], boundaries);
        AssertEveryHashInExactlyOneBundle(ns, boundaries);
    }

    /// <summary>No topic is lost by a split: every hash (the ends of every bundle, and many topics') falls in exactly one bundle.</summary>
    private static void AssertEveryHashInExactlyOneBundle(string ns, string[] boundaries)
    {
        var name = NamespaceOf(ns);
        var parsed = NamespaceBundles.Parse(boundaries);
        Assert.NotNull(parsed);
        var bundles = new NamespaceBundles(name, parsed).All.ToList();
        var hashes = parsed.SelectMany(b => new[] { b, b - 1, b + 1 })
            .Concat(Enumerable.Range(0, 2000).Select(i => NamespaceBundle.HashOf(new TopicName(name, $"t-{i}"))));
        foreach (var hash in hashes)
            Assert.Single(bundles, b => b.Contains(hash));
    }

    [Fact]
    public async Task A_split_of_a_range_that_is_not_a_bundle_is_404_and_a_malformed_one_400_and_neither_changes_anything()
    {
        var ns = await server.NewNamespaceAsync();
        var before = await server.StoredAsync($"/admin/policies/{ns}");
        var missing = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x40000000_0x60000000/split", null), HttpStatusCode.NotFound);
        Assert.Contains("has no bundle 0x40000000_0x60000000", missing, StringComparison.Ordinal);
        foreach (var malformed in (string[])["0x40000000-0x80000000", "0x80000000_0x40000000", "40000000_80000000", "0x1_0x123456789", "bundle"])
        {
            var detail = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/{malformed}/split", null), HttpStatusCode.BadRequest);
            Assert.Contains("e.g. 0x00000000_0x40000000", detail, StringComparison.Ordinal);
        }
        var algorithm = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x40000000_0x80000000/split?splitAlgorithmName=topic_count_equally_divide", null),
            HttpStatusCode.BadRequest);
        Assert.Contains("only range_equally_divide", algorithm, StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x40000000_0x80000000/split?unload=maybe", null), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns[..ns.IndexOf('/')]}/nope/0x40000000_0x80000000/split", null), HttpStatusCode.NotFound);
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));
        Assert.Empty(server.Ownership.UnloadedIn(ns));
    }

    [Fact]
    public async Task Concurrent_splits_are_decided_on_the_current_bundles_one_of_the_same_bundle_wins_of_different_ones_both()
    {
        var ns = await server.NewNamespaceAsync();
        var same = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Http.PutAsync($"/admin/v2/namespaces/{ns}/0x40000000_0x80000000/split", null)));
        Assert.Equal([HttpStatusCode.NoContent, HttpStatusCode.NotFound], same.Select(r => r.StatusCode).Order());
        Assert.Equal(5, (await BoundariesAsync(ns, 5)).Length - 1);

        var different = await Task.WhenAll(
            Http.PutAsync($"/admin/v2/namespaces/{ns}/0x00000000_0x40000000/split", null),
            Http.PutAsync($"/admin/v2/namespaces/{ns}/0x80000000_0xc0000000/split", null));
        Assert.All(different, r => Assert.Equal(HttpStatusCode.NoContent, r.StatusCode));
        Assert.Equal(["0x00000000", "0x20000000", "0x40000000", "0x60000000", "0x80000000", "0xa0000000", "0xc0000000", "0xffffffff"], await BoundariesAsync(ns, 7));
    }

    [Fact]
    public async Task Unloading_a_bundle_or_a_whole_namespace_goes_to_the_gate_and_unknown_ones_are_refused()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x80000000_0xc0000000/unload", null));
        Assert.Equal(["0x80000000_0xc0000000"], server.Ownership.UnloadedIn(ns));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/unload", null));
        Assert.Equal(["0x80000000_0xc0000000", "0x00000000_0x40000000", "0x40000000_0x80000000", "0x80000000_0xc0000000", "0xc0000000_0xffffffff"],
            server.Ownership.UnloadedIn(ns));

        var tenant = ns[..ns.IndexOf('/')];
        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/nope/unload", null), HttpStatusCode.NotFound));
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/nope/0x00000000_0x40000000/unload", null), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x00000000_0x20000000/unload", null), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/0x0_0xzz/unload", null), HttpStatusCode.BadRequest);
        Assert.Equal(5, server.Ownership.UnloadedIn(ns).Count);
    }

    [Fact]
    public async Task The_http_lookup_answers_pulsars_lookup_data_from_the_brokers_lookup()
    {
        var ns = await server.NewNamespaceAsync();
        var response = await Http.GetAsync($"/lookup/v2/topic/persistent/{ns}/orders");
        var data = await Expect.OkAsync(response);
        Assert.Equal(RecordingTopicAdmin.LookupOwner.GrpcUrl, data.GetProperty("brokerUrl").GetString());
        Assert.Equal(RecordingTopicAdmin.LookupOwner.GrpcUrl, data.GetProperty("nativeUrl").GetString());
        Assert.Equal(RecordingTopicAdmin.LookupOwner.HttpUrl, data.GetProperty("httpUrl").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("brokerUrlTls").ValueKind);
        Assert.Equal(JsonValueKind.Null, data.GetProperty("httpUrlTls").ValueKind);
        Assert.True(server.Topics.WasCalled($"Lookup persistent://{ns}/orders"));

        var topic = new TopicName(NamespaceOf(ns), "orders");
        var range = await (await Http.GetAsync($"/lookup/v2/topic/persistent/{ns}/orders/bundle")).Content.ReadAsStringAsync();
        Assert.Equal(NamespaceBundles.Even(topic.Namespace, 4).Find(topic).Range, range);

        var tenant = ns[..ns.IndexOf('/')];
        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.GetAsync($"/lookup/v2/topic/persistent/{tenant}/nope/orders"), HttpStatusCode.NotFound));
        await Expect.ProblemAsync(await Http.GetAsync($"/lookup/v2/topic/persistent/{tenant}/b%20d/orders"), HttpStatusCode.BadRequest);
        Assert.Contains("persistent", await Expect.ProblemAsync(await Http.GetAsync($"/lookup/v2/topic/non-persistent/{ns}/orders"), HttpStatusCode.BadRequest));
        Assert.Contains("no endpoint", await Expect.ProblemAsync(await Http.GetAsync("/lookup/v2/nothing"), HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task The_openapi_document_has_the_bundle_and_lookup_endpoints()
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync("/admin/v2/openapi.json"));
        var paths = document.RootElement.GetProperty("paths");
        foreach (var (path, method) in new[]
        {
            ("/admin/v2/namespaces/{tenant}/{namespace}/bundles", "get"),
            ("/admin/v2/namespaces/{tenant}/{namespace}/{bundle}/split", "put"),
            ("/admin/v2/namespaces/{tenant}/{namespace}/{bundle}/unload", "put"),
            ("/admin/v2/namespaces/{tenant}/{namespace}/unload", "put"),
            ("/admin/v2/brokers/{cluster}/{broker}/ownedNamespaces", "get"),
            ("/lookup/v2/topic/{domain}/{tenant}/{namespace}/{topic}", "get"),
            ("/lookup/v2/topic/{domain}/{tenant}/{namespace}/{topic}/bundle", "get"),
        })
        {
            Assert.True(paths.TryGetProperty(path, out var operations), $"{path} is missing");
            Assert.False(string.IsNullOrEmpty(operations.GetProperty(method).GetProperty("summary").GetString()), $"{method} {path} has no summary");
        }
    }
}
