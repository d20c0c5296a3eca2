using System.Text.Json;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>Permissions on the real broker of <see cref="AdminLifecycleFixture"/>: deleting a topic takes the grants on it away, as Pulsar.</summary>
public sealed class PermissionWithBrokerTests(AdminLifecycleFixture fixture) : IClassFixture<AdminLifecycleFixture>
{
    private HttpClient Http => fixture.Http;

    private async Task<string> StoredAsync(string key) => (await fixture.Broker.Metadata.GetAsync(key))!.Value.ToStringUtf8();

    private async Task<string[]> RolesOnAsync(string path)
        => [.. (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{path}/permissions"))).EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Deleting_a_topic_removes_the_grants_on_it_and_keeps_the_namespaces_and_other_topics()
    {
        var ns = await BrokerSteps.NewNamespaceAsync(Http);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t", null));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/app", Json("""["produce"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/permissions/reader", Json("""["consume"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/other/permissions/auditor", Json("""["consume"]""")));
        Assert.Equal(["app", "reader"], await RolesOnAsync($"{ns}/t"));

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/t"));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t", null));
        Assert.Equal(["app"], await RolesOnAsync($"{ns}/t"));
        Assert.Equal(["app", "auditor"], await RolesOnAsync($"{ns}/other"));
        Assert.DoesNotContain($"persistent://{ns}/t\"", await StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_a_partitioned_topic_removes_the_grants_on_it_and_its_partitions_and_leaves_no_empty_auth_policies()
    {
        var ns = await BrokerSteps.NewNamespaceAsync(Http);
        var before = await StoredAsync($"/admin/policies/{ns}");
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/p/partitions", Json("2")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/p/permissions/all", Json("""["produce"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/p-partition-1/permissions/one", Json("""["consume"]""")));
        Assert.Equal(["all", "one"], await RolesOnAsync($"{ns}/p-partition-1"));

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/p/partitions"));
        Assert.Empty(await RolesOnAsync($"{ns}/p-partition-1"));
        using var stored = JsonDocument.Parse(await StoredAsync($"/admin/policies/{ns}"));
        Assert.False(stored.RootElement.TryGetProperty("auth_policies", out _));
        Assert.Equal(before, await StoredAsync($"/admin/policies/{ns}"));
    }
}
