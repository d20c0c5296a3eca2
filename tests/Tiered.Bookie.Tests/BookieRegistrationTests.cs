using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Metadata;

namespace Tiered.Bookie.Tests;

/// <summary>Registration of a bookie in a real (in-process, single-node) metadata service.</summary>
public sealed class BookieRegistrationTests
{
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task A_bookie_is_listed_while_alive_moves_when_read_only_and_vanishes_when_it_stops()
    {
        using var dir = new TempDirectory();
        await using var server = await MetadataServer.StartAsync(new MetadataNodeOptions
        {
            DataDir = dir.Path,
            Listen = $"127.0.0.1:{FreePort()}",
            Peers = [$"127.0.0.1:{FreePort()}"],
        }, NullLoggerFactory.Instance);
        await server.WaitForLeaderAsync(TimeSpan.FromSeconds(30));
        var store = server.Store;

        var registration = await BookieRegistration.StartAsync(store, "127.0.0.1:3181", TimeSpan.FromSeconds(2), readOnly: false, NullLogger.Instance, CancellationToken.None);
        Assert.Equal(["127.0.0.1:3181"], await store.ListChildrenAsync(BookieRegistration.AvailablePath));
        var key = (await store.GetAsync(BookieRegistration.AvailableKey("127.0.0.1:3181")))!;
        Assert.NotEqual(0, key.SessionId);

        await registration.SetReadOnlyAsync(true, CancellationToken.None);
        Assert.Empty(await store.ListChildrenAsync(BookieRegistration.AvailablePath));
        Assert.Equal(["127.0.0.1:3181"], await store.ListChildrenAsync(BookieRegistration.ReadOnlyPath));

        // Heartbeats keep it listed well past its TTL.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < until)
        {
            Assert.NotNull(await store.GetAsync(BookieRegistration.ReadOnlyKey("127.0.0.1:3181")));
            await Task.Delay(250);
        }

        await registration.DisposeAsync();
        Assert.Empty(await store.ListChildrenAsync(BookieRegistration.ReadOnlyPath));
    }
}
