using System.Text.Json;
using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// `tiered admin clusters|tenants|namespaces|topics …` for geo-replication, as a real process against <see cref="AdminApiServer"/>
/// (cluster "standalone"): what each command stores, and refusals that exit 1 with the server's reason.
/// </summary>
public sealed class ReplicationCliTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private async Task<string> TieredAsync(int expectedExitCode, params string[] args)
    {
        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", .. args, "--admin-url", server.Http.BaseAddress!.ToString()]);
        Assert.True(exitCode == expectedExitCode, $"tiered admin {string.Join(' ', args)} exited with {exitCode}, expected {expectedExitCode}:\n{output}");
        return output;
    }

    /// <summary>The JSON array printed (stdout; a note may be on stderr, interleaved).</summary>
    private static string[] Array(string output)
    {
        var start = output.IndexOf('[', StringComparison.Ordinal);
        Assert.True(start >= 0, $"No JSON array in:\n{output}");
        return [.. JsonDocument.Parse(output[start..(output.LastIndexOf(']') + 1)]).RootElement.EnumerateArray().Select(e => e.GetString()!)];
    }

    [Fact]
    public async Task Clusters_tenants_and_replication_lists_are_configured_from_the_command_line()
    {
        var east = "cli-east-" + Guid.NewGuid().ToString("N")[..6];
        await TieredAsync(0, "clusters", "create", east, "--url", "http://east:8080", "--broker-url", "east:6650");
        Assert.Equal("""{"serviceUrl":"http://east:8080","brokerServiceUrl":"east:6650"}""", await server.StoredAsync($"/admin/clusters/{east}"));
        Assert.Contains(east, await TieredAsync(0, "clusters", "list"), StringComparison.Ordinal);
        await TieredAsync(0, "clusters", "update", east, "--broker-url", "http://east-2:6650");
        Assert.Equal("""{"serviceUrl":"http://east:8080","brokerServiceUrl":"http://east-2:6650"}""", await server.StoredAsync($"/admin/clusters/{east}"));
        Assert.Contains("http://east-2:6650", await TieredAsync(0, "clusters", "get", east), StringComparison.Ordinal);
        Assert.Contains("Invalid serviceUrl", await TieredAsync(1, "clusters", "update", east, "--url", "east:8080"), StringComparison.Ordinal);
        Assert.Contains("--url, --broker-url or both", await TieredAsync(2, "clusters", "create", "nothing-given"), StringComparison.Ordinal);

        var ns = await server.NewNamespaceAsync();
        var tenant = ns.Split('/')[0];
        Assert.Contains("allowedClusters", await TieredAsync(1, "namespaces", "set-clusters", ns, "--clusters", $"standalone,{east}"), StringComparison.Ordinal);
        await TieredAsync(0, "tenants", "update", tenant, "--allowed-clusters", $"standalone,{east}");
        Assert.Contains("\"adminRoles\":[\"ops\"]", await server.StoredAsync($"/admin/tenants/{tenant}"), StringComparison.Ordinal);

        await TieredAsync(0, "namespaces", "set-clusters", ns, "--clusters", $"standalone,{east}");
        Assert.Equal(["standalone", east], Array(await TieredAsync(0, "namespaces", "get-clusters", ns)));
        Assert.Contains("local cluster standalone", await TieredAsync(1, "namespaces", "set-clusters", ns, "-c", east), StringComparison.Ordinal);
        Assert.Contains("not registered", await TieredAsync(1, "namespaces", "set-clusters", ns, "-c", "standalone,nowhere"), StringComparison.Ordinal);
        Assert.Contains("at least one cluster", await TieredAsync(2, "namespaces", "set-clusters", ns, "-c", ","), StringComparison.Ordinal);
        Assert.Equal(["standalone", east], Array(await TieredAsync(0, "namespaces", "get-clusters", ns)));

        await TieredAsync(0, "topics", "create", $"{ns}/t");
        Assert.Contains("null", await TieredAsync(0, "topics", "get-replication-clusters", $"{ns}/t"), StringComparison.Ordinal);
        Assert.Equal(["standalone", east], Array(await TieredAsync(0, "topics", "get-replication-clusters", $"{ns}/t", "--applied")));
        await TieredAsync(0, "topics", "set-replication-clusters", $"persistent://{ns}/t", "--clusters", "standalone");
        Assert.Equal(["standalone"], Array(await TieredAsync(0, "topics", "get-replication-clusters", $"{ns}/t")));
        Assert.Equal("""{"replication_clusters":["standalone"]}""", await server.StoredAsync($"/admin/topic-policies/{ns}/persistent/t"));
        Assert.Contains("does not exist", await TieredAsync(1, "topics", "set-replication-clusters", $"{ns}/ghost", "-c", "standalone"), StringComparison.Ordinal);
        await TieredAsync(0, "topics", "remove-replication-clusters", $"{ns}/t");
        Assert.Null(await server.StoredAsync($"/admin/topic-policies/{ns}/persistent/t"));

        Assert.Contains($"namespace {ns}", await TieredAsync(1, "clusters", "delete", east), StringComparison.Ordinal);
        await TieredAsync(0, "namespaces", "set-clusters", ns, "--clusters", "standalone");
        await TieredAsync(0, "tenants", "update", tenant, "-c", "standalone");
        await TieredAsync(0, "clusters", "delete", east);
        Assert.Null(await server.StoredAsync($"/admin/clusters/{east}"));
    }

    [Fact]
    public async Task Every_replication_command_has_help()
    {
        foreach (var command in (string[][])[["clusters", "create"], ["clusters", "update"], ["clusters", "delete"], ["tenants", "update"],
            ["namespaces", "set-clusters"], ["namespaces", "get-clusters"], ["topics", "set-replication-clusters"], ["topics", "get-replication-clusters"],
            ["topics", "remove-replication-clusters"]])
        {
            var (exitCode, output) = await TieredProcess.RunAsync(Timeout, ["admin", .. command, "--help"]);
            Assert.True(exitCode == 0, $"{string.Join(' ', command)} --help exited with {exitCode}:\n{output}");
            Assert.Contains("Usage:", output, StringComparison.Ordinal);
        }
        var (standaloneExit, standalone) = await TieredProcess.RunAsync(Timeout, ["standalone", "--help"]);
        Assert.Equal(0, standaloneExit);
        Assert.Contains("--cluster-name", standalone, StringComparison.Ordinal);
    }
}
