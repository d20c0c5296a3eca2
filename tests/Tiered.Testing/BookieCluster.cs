using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie;
using Tiered.Metadata;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Testing;

/// <summary>
/// A real in-process metadata service and N bookies on free loopback ports, each in its own
/// temporary directory; everything is stopped and deleted on dispose.
/// </summary>
public sealed class BookieCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly MetadataServer _metadata;
    private readonly BookieServer?[] _bookies;
    private readonly List<GrpcChannel> _channels = [];

    private BookieCluster(string root, MetadataServer metadata, BookieServer?[] bookies) => (_root, _metadata, _bookies) = (root, metadata, bookies);

    public IMetadataStore Metadata => _metadata.Store;

    public IReadOnlyList<string> BookieIds => [.. _bookies.OfType<BookieServer>().Select(b => b.BookieId)];

    public static int FreePort() => LocalMetadata.FreePort();

    /// <summary>The auto-recovery instance of a running bookie that holds the auditor lock, if any.</summary>
    public Tiered.Ledger.AutoRecovery? ActiveAuditor => _bookies.OfType<BookieServer>().Select(b => b.AutoRecovery).FirstOrDefault(r => r?.IsActive == true);

    /// <summary>The running bookies' in-process invokers, for <c>LedgerClientOptions.LocalBookies</c>.</summary>
    public IReadOnlyDictionary<string, CallInvoker> LocalBookies =>
        _bookies.OfType<BookieServer>().ToDictionary(b => b.BookieId, b => b.LocalInvoker);

    public static async Task<BookieCluster> StartAsync(int bookies = 3)
    {
        var root = Directory.CreateTempSubdirectory("tiered-ledger-").FullName;
        var metadata = await MetadataServer.StartAsync(new MetadataNodeOptions
        {
            DataDir = Path.Combine(root, "metadata"),
            Listen = $"127.0.0.1:{FreePort()}",
            Peers = [$"127.0.0.1:{FreePort()}"],
        }, NullLoggerFactory.Instance);
        await metadata.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var servers = new BookieServer?[bookies];
        for (var i = 0; i < bookies; i++)
        {
            servers[i] = await BookieServer.StartAsync(new BookieOptions
            {
                Listen = $"127.0.0.1:{FreePort()}",
                DataDir = Path.Combine(root, $"bookie{i}"),
                Metadata = ["127.0.0.1:1"],
            }, NullLoggerFactory.Instance, metadata.Store);
        }
        return new BookieCluster(root, metadata, servers);
    }

    /// <summary>A raw gRPC client to one bookie, for checking what it stores.</summary>
    public BookieRpc.BookieClient Client(string bookieId)
    {
        var channel = GrpcChannel.ForAddress($"http://{bookieId}");
        _channels.Add(channel);
        return new BookieRpc.BookieClient(channel);
    }

    /// <summary>Stops a bookie for good (its data stays on disk, its registration goes).</summary>
    public async Task StopAsync(string bookieId)
    {
        var index = Array.FindIndex(_bookies, b => b?.BookieId == bookieId);
        var bookie = _bookies[index]!;
        _bookies[index] = null;
        await bookie.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
            channel.Dispose();
        foreach (var bookie in _bookies)
        {
            if (bookie is not null)
                await bookie.DisposeAsync();
        }
        await _metadata.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
