using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>`tiered initialize-cluster` against a real metadata node: creates a new cluster's defaults once, refuses bad input creating nothing.</summary>
public sealed class InitializeClusterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Initialize_cluster_creates_the_cluster_tenant_and_namespace_once()
    {
        await using var metadata = await MetadataCluster.StartAsync(1);
        await metadata.WaitForLeaderAsync(Timeout);
        string[] args = ["initialize-cluster", "--metadata", string.Join(',', metadata.Addresses), "--cluster-name", "east",
            "--web-service-url", "http://east-1:8080", "--broker-service-url", "http://east-1:6650"];

        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, args);
        Assert.True(exitCode == 0, output);
        Assert.Contains("cluster east initialized", output, StringComparison.Ordinal);
        Assert.Equal("""{"serviceUrl":"http://east-1:8080","brokerServiceUrl":"http://east-1:6650"}""", (await metadata.Client.GetAsync("/admin/clusters/east"))!.Value.ToStringUtf8());
        var tenant = (await metadata.Client.GetAsync("/admin/tenants/public"))!;
        Assert.Equal("""{"adminRoles":[],"allowedClusters":["east"]}""", tenant.Value.ToStringUtf8());
        Assert.Equal("""{"replication_clusters":["east"],"bundles":{"boundaries":["0x00000000","0x40000000","0x80000000","0xc0000000","0xffffffff"],"numBundles":4}}""", (await metadata.Client.GetAsync("/admin/policies/public/default"))!.Value.ToStringUtf8());

        (exitCode, output) = await TieredProcess.RunAsync(Timeout, args);
        Assert.True(exitCode == 0, output);
        Assert.Contains("already initialized", output, StringComparison.Ordinal);
        Assert.Equal(tenant.Version, (await metadata.Client.GetAsync("/admin/tenants/public"))!.Version);
    }

    [Theory]
    [InlineData("bad/name", "http://a:8080", "http://a:6650", "--cluster-name")]
    [InlineData("east", "ftp://a", "http://a:6650", "--web-service-url")]
    [InlineData("east", "http://a:8080", "not a url", "--broker-service-url")]
    public async Task Bad_input_is_refused_with_exit_code_2_and_creates_nothing(string cluster, string web, string broker, string named)
    {
        await using var metadata = await MetadataCluster.StartAsync(1);
        await metadata.WaitForLeaderAsync(Timeout);

        var (exitCode, output) = await TieredProcess.RunAsync(Timeout, "initialize-cluster", "--metadata", string.Join(',', metadata.Addresses),
            "--cluster-name", cluster, "--web-service-url", web, "--broker-service-url", broker);

        Assert.Equal(2, exitCode);
        Assert.Contains(named, output, StringComparison.Ordinal);
        Assert.Empty(await metadata.Client.ListAsync("/admin/"));
    }
}
