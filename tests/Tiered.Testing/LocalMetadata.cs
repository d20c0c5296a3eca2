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

    /// <summary>A TCP port free on 127.0.0.1 right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

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
