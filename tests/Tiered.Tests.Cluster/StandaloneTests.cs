using System.Text;
using Tiered.Metadata;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>`tiered standalone` and `tiered metadata` as a newcomer runs them: real processes, killed with SIGKILL.</summary>
public sealed class StandaloneTests
{
    [Fact]
    public async Task A_standalone_whose_port_another_process_took_first_starts_on_new_ports()
    {
        using var standalone = new Standalone();
        var taken = standalone.GrpcPort;
        using (var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, taken))
        {
            squatter.Start();
            await standalone.StartAsync();
        }

        Assert.NotEqual(taken, standalone.GrpcPort);
        await using var client = new MetadataClient([$"127.0.0.1:{standalone.MetadataPort}"]);
        Assert.NotNull(await client.GetAsync("/admin/tenants/public"));
    }

    [Fact]
    public async Task Standalone_creates_the_public_tenant_and_keeps_data_across_a_kill()
    {
        using var standalone = new Standalone();
        KeyValueSnapshot before;
        await standalone.StartAsync();
        await using (var client = new MetadataClient([$"127.0.0.1:{standalone.MetadataPort}"]))
        {
            var tenant = await client.GetAsync("/admin/tenants/public");
            Assert.NotNull(tenant);
            Assert.Contains("standalone", tenant.Value.ToStringUtf8(), StringComparison.Ordinal);
            Assert.NotNull(await client.GetAsync("/admin/policies/public/default"));
            Assert.NotNull(await client.GetAsync("/admin/clusters/standalone"));
            Assert.Equal([$"127.0.0.1:{standalone.BookiePort}"], await client.ListChildrenAsync("/bookies/available"));
            var mine = await client.PutAsync("/user/key", Encoding.UTF8.GetBytes("kept"));
            before = new(tenant.Version, tenant.ModRevision, mine.ModRevision);
        }
        standalone.Kill();

        await standalone.StartAsync();
        await using (var client = new MetadataClient([$"127.0.0.1:{standalone.MetadataPort}"]))
        {
            var tenant = (await client.GetAsync("/admin/tenants/public"))!;
            var mine = (await client.GetAsync("/user/key"))!;
            Assert.Equal("kept", mine.Value.ToStringUtf8());
            // The defaults are created once, not again on every start.
            Assert.Equal(before, new KeyValueSnapshot(tenant.Version, tenant.ModRevision, mine.ModRevision));
        }
    }

    [Theory]
    [InlineData("--node-id", "9")]
    [InlineData("--peers", "127.0.0.1:1,127.0.0.1:2")]
    [InlineData("--listen", "nowhere")]
    public async Task Metadata_rejects_bad_options_with_a_clear_error_and_exit_code_2(string option, string value)
    {
        var (exitCode, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), "metadata", option, value);
        Assert.Equal(2, exitCode);
        Assert.Contains("error:", output, StringComparison.Ordinal);
        Assert.Contains(option, output, StringComparison.Ordinal);
    }

    private sealed record KeyValueSnapshot(long TenantVersion, long TenantRevision, long KeyRevision);
}
