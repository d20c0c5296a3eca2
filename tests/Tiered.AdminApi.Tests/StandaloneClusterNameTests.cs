using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// `tiered standalone --cluster-name NAME`: the standalone is its own cluster (so two on one machine are two clusters
/// to replicate between), registered with its URLs, allowed for "public" and the list of "public/default".
/// </summary>
public sealed class StandaloneClusterNameTests
{
    [Fact]
    public async Task A_named_standalone_registers_itself_and_replicates_public_default_to_itself_only()
    {
        using var standalone = new Standalone("--cluster-name", "east");
        await standalone.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(standalone.AdminUrl) };

        Assert.Equal(["east"], Expect.Strings(await Expect.OkAsync(await http.GetAsync("/admin/v2/clusters"))));
        var cluster = await Expect.OkAsync(await http.GetAsync("/admin/v2/clusters/east"));
        Assert.Equal(standalone.AdminUrl, cluster.GetProperty("serviceUrl").GetString()!.TrimEnd('/'));
        Assert.Equal(standalone.Url, cluster.GetProperty("brokerServiceUrl").GetString()!.TrimEnd('/'));
        Assert.Equal(["east"], Expect.Strings((await Expect.OkAsync(await http.GetAsync("/admin/v2/tenants/public"))).GetProperty("allowedClusters")));
        Assert.Equal(["east"], Expect.Strings(await Expect.OkAsync(await http.GetAsync("/admin/v2/namespaces/public/default/replication"))));

        // Its own name is the local cluster every replication list must include.
        Assert.Contains("local cluster east", await Expect.ProblemAsync(
            await http.PostAsync("/admin/v2/namespaces/public/default/replication", AdminApiServer.Json("""["standalone"]""")), System.Net.HttpStatusCode.PreconditionFailed),
            StringComparison.Ordinal);
    }
}
