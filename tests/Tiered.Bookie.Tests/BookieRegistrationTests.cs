using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Testing;

namespace Tiered.Bookie.Tests;

/// <summary>Registration of a bookie in a real (in-process, single-node) metadata service.</summary>
public sealed class BookieRegistrationTests
{
    [Fact]
    public async Task A_bookie_is_listed_while_alive_moves_when_read_only_and_vanishes_when_it_stops()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        var store = metadata.Store;

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
