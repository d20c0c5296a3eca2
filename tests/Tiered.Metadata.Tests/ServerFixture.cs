using Microsoft.Extensions.Logging.Abstractions;

namespace Tiered.Metadata.Tests;

/// <summary>A real single-node metadata server (Raft, WAL on disk, gRPC on 127.0.0.1) in this process, and a gRPC client to it.</summary>
internal sealed class ServerFixture : IAsyncDisposable
{
    private ServerFixture(string dataDir, MetadataServer server, MetadataNodeOptions options)
    {
        (DataDir, Server, Options) = (dataDir, server, options);
        Client = new MetadataClient([server.ClientAddress], TimeSpan.FromSeconds(10));
    }

    public string DataDir { get; }

    public MetadataServer Server { get; private set; }

    public MetadataNodeOptions Options { get; }

    public MetadataClient Client { get; private set; }

    public static async Task<ServerFixture> StartAsync(int snapshotEveryEntries = 10_000, string? dataDir = null)
    {
        dataDir ??= Directory.CreateTempSubdirectory("tiered-meta-test-").FullName;
        var options = new MetadataNodeOptions
        {
            DataDir = dataDir,
            Listen = $"127.0.0.1:{FreePort()}",
            Peers = [$"127.0.0.1:{FreePort()}"],
            SnapshotEveryEntries = snapshotEveryEntries,
        };
        var server = await MetadataServer.StartAsync(options, NullLoggerFactory.Instance);
        await server.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        return new ServerFixture(dataDir, server, options);
    }

    /// <summary>Stops the server cleanly and starts it again on the same data directory and ports.</summary>
    public async Task RestartAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        Server = await MetadataServer.StartAsync(Options, NullLoggerFactory.Instance);
        await Server.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        Client = new MetadataClient([Server.ClientAddress], TimeSpan.FromSeconds(10));
    }

    private static int FreePort() => Testing.LocalMetadata.FreePort();

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
