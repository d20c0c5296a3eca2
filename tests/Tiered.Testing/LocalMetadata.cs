using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Metadata;

namespace Tiered.Testing;

/// <summary>
/// A real single-node metadata service (Raft log on disk, gRPC on 127.0.0.1) inside the test
/// process, in a fresh temporary directory that is deleted on dispose. For tests of components
/// that keep state in the metadata service; multi-process tests use <see cref="MetadataCluster"/>.
/// </summary>
public sealed class LocalMetadata : IAsyncDisposable
{
    private readonly MetadataServer _server;

    private LocalMetadata(string root, MetadataServer server) => (Root, _server) = (root, server);

    /// <summary>A temporary directory for the test's own files too; deleted with the service.</summary>
    public string Root { get; }

    public IMetadataStore Store => _server.Store;

    public string ClientAddress => _server.ClientAddress;

    public static async Task<LocalMetadata> StartAsync()
    {
        var root = Directory.CreateTempSubdirectory("tiered-test-").FullName;
        var server = await MetadataServer.StartAsync(new MetadataNodeOptions
        {
            DataDir = Path.Combine(root, "metadata"),
            Listen = $"127.0.0.1:{FreePort()}",
            Peers = [$"127.0.0.1:{FreePort()}"],
        }, NullLoggerFactory.Instance);
        await server.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        return new LocalMetadata(root, server);
    }

    /// <summary>
    /// A TCP port free on 127.0.0.1 right now, below the kernel's ephemeral range (32768+): a port
    /// the kernel handed out could be taken as the source port of some outgoing connection (the
    /// test processes make thousands) before the server it is meant for binds it. Not one this
    /// process handed out before.
    /// </summary>
    public static int FreePort() => FreePort(also: null);

    /// <summary>
    /// A free port whose neighbour at <paramref name="also"/> ports above is free too, both never handed out again:
    /// for a server that binds a second port of its own at a fixed offset (a standalone's Raft port is its metadata
    /// port + 100), so that no other server of the test is given that second port.
    /// </summary>
    public static int FreePort(int? also)
    {
        for (var attempt = 0; ; attempt++)
        {
            // Test assemblies run in parallel processes: each draws from its own slice of the range (by process id),
            // so that two of them rarely pick the same port between one's probe and its server's bind.
            var slice = Environment.ProcessId % PortSlices;
            var port = 20_000 + slice * PortsPerSlice + Random.Shared.Next(PortsPerSlice - (also ?? 0));
            lock (HandedOut)
            {
                if (HandedOut.Contains(port) || (also is { } offset && HandedOut.Contains(port + offset)))
                    continue;
                HandedOut.Add(port);
                if (also is { } second)
                    HandedOut.Add(port + second);
            }
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                if (also is { } offset)
                {
                    using var neighbour = new TcpListener(IPAddress.Loopback, port + offset);
                    neighbour.Start();
                }
                return port;
            }
            catch (SocketException) when (attempt < 1000)
            {
            }
        }
    }

    private static readonly HashSet<int> HandedOut = [];
    private const int PortSlices = 6;
    private const int PortsPerSlice = 2_000;

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
