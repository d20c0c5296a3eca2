using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Hosting;
using Tiered.Testing;

namespace Tiered.Metadata.Tests;

/// <summary>Addresses given as host names: parsed without resolving, kept as names, resolved when used.</summary>
public sealed class HostNameTests
{
    [Fact]
    public void A_host_name_is_kept_as_a_name_and_printed_back_as_given()
    {
        var address = HostPort.Parse("Bookie-1.Tiered.svc:3181", "--listen");
        Assert.Equal(new HostPort("bookie-1.tiered.svc", 3181), address);
        Assert.Equal("bookie-1.tiered.svc:3181", address.ToString());
        Assert.Equal(new Uri("http://bookie-1.tiered.svc:3181"), address.ToUri());
        Assert.Equal(new DnsEndPoint("bookie-1.tiered.svc", 3181), address.ToEndPoint());
        Assert.Null(address.Address);
    }

    [Fact]
    public void IP_literals_keep_their_meaning_and_IPv6_prints_in_brackets()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 2181), HostPort.Parse("127.0.0.1:2181", "--listen").ToEndPoint());
        var v6 = HostPort.Parse("[::1]:2181", "--listen");
        Assert.Equal("[::1]:2181", v6.ToString());
        Assert.True(HostPort.Parse("0.0.0.0:3181", "--listen").IsWildcard);
        Assert.True(HostPort.Parse("[::]:3181", "--listen").IsWildcard);
        Assert.False(v6.IsWildcard);
    }

    [Theory]
    [InlineData("nohost", "is not HOST:PORT")]
    [InlineData("host:0", "is not HOST:PORT")]
    [InlineData("host:70000", "is not HOST:PORT")]
    [InlineData("::1:2181", "in brackets")]
    [InlineData("bad_name!:2181", "neither an IP address nor a host name")]
    public void Bad_addresses_are_refused_naming_the_option(string value, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => HostPort.Parse(value, "--peers"));
        Assert.StartsWith("--peers: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_that_does_not_resolve_fails_at_bind_time_naming_the_option()
    {
        var address = HostPort.Parse("no-such-host.invalid:2181", "--listen");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => address.ResolveAsync("--listen"));
        Assert.Contains("--listen: the host name 'no-such-host.invalid' does not resolve", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_resolves_to_the_addresses_it_maps_to()
    {
        var name = LoopbackHostName.Require();
        var endPoints = await HostPort.Parse($"{name}:2181", "--listen").ResolveAsync("--listen");
        Assert.Contains(new IPEndPoint(IPAddress.Loopback, 2181), endPoints);
    }

    [Fact]
    public async Task Three_metadata_nodes_with_host_name_peers_elect_a_leader_and_a_client_given_names_writes_and_reads()
    {
        var name = LoopbackHostName.Require();
        var peers = Enumerable.Range(0, 3).Select(_ => $"{name}:{LocalMetadata.FreePort()}").ToArray();
        var listens = Enumerable.Range(0, 3).Select(_ => $"{name}:{LocalMetadata.FreePort()}").ToArray();
        var root = Directory.CreateTempSubdirectory("tiered-meta-names-").FullName;
        var servers = new List<MetadataServer>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                servers.Add(await MetadataServer.StartAsync(new MetadataNodeOptions
                {
                    NodeId = i + 1,
                    Peers = peers,
                    Listen = listens[i],
                    DataDir = Path.Combine(root, $"node{i + 1}"),
                }, NullLoggerFactory.Instance));
            }
            foreach (var server in servers)
                await server.WaitForLeaderAsync(TimeSpan.FromSeconds(30));

            await using var client = new MetadataClient(listens, TimeSpan.FromSeconds(10));
            await client.PutAsync("/names/a", "1"u8.ToArray());
            await using var other = new MetadataClient([listens[2]], TimeSpan.FromSeconds(10));
            var read = await other.GetAsync("/names/a");
            Assert.NotNull(read);
            Assert.Equal("1"u8.ToArray(), read.Value.ToByteArray());
        }
        finally
        {
            foreach (var server in servers)
                await server.DisposeAsync();
            Directory.Delete(root, recursive: true);
        }
    }
}
