using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Ledger;
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

        var registration = await BookieRegistration.StartAsync(store, new BookieOptions { Listen = "127.0.0.1:3181", SessionTtl = TimeSpan.FromSeconds(2) }, readOnly: false, NullLogger.Instance, CancellationToken.None);
        Assert.Equal(["127.0.0.1:3181"], await store.ListChildrenAsync(BookiePaths.Available));
        var key = (await store.GetAsync(BookiePaths.AvailableKey("127.0.0.1:3181")))!;
        Assert.NotEqual(0, key.SessionId);
        Assert.Equal("127.0.0.1:3181", key.Value.ToStringUtf8());

        await registration.SetReadOnlyAsync(true, CancellationToken.None);
        Assert.Empty(await store.ListChildrenAsync(BookiePaths.Available));
        Assert.Equal(["127.0.0.1:3181"], await store.ListChildrenAsync(BookiePaths.ReadOnly));

        // Heartbeats keep it listed well past its TTL.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (DateTime.UtcNow < until)
        {
            Assert.NotNull(await store.GetAsync(BookiePaths.ReadOnlyKey("127.0.0.1:3181")));
            await Task.Delay(250);
        }

        await registration.DisposeAsync();
        Assert.Empty(await store.ListChildrenAsync(BookiePaths.ReadOnly));
    }

    [Fact]
    public async Task A_bookie_with_an_id_registers_under_the_id_with_its_advertised_address_as_the_value()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        var options = new BookieOptions { Listen = "0.0.0.0:3181", Id = "bookie-7", AdvertisedAddress = "bookie-7.tiered.svc:3181" };
        await using var registration = await BookieRegistration.StartAsync(metadata.Store, options, readOnly: false, NullLogger.Instance, CancellationToken.None);
        Assert.Equal(["bookie-7"], await metadata.Store.ListChildrenAsync(BookiePaths.Available));
        Assert.Equal("bookie-7.tiered.svc:3181", (await metadata.Store.GetAsync(BookiePaths.AvailableKey("bookie-7")))!.Value.ToStringUtf8());
    }

    [Fact]
    public async Task A_bookie_bound_to_every_interface_registers_the_machine_host_name_not_0_0_0_0()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        foreach (var listen in new[] { "0.0.0.0:3181", "[::]:3181" })
        {
            var options = new BookieOptions { Listen = listen };
            Assert.True(options.AdvertisesMachineHostName);
            var registration = await BookieRegistration.StartAsync(metadata.Store, options, readOnly: false, NullLogger.Instance, CancellationToken.None);
            var expected = $"{System.Net.Dns.GetHostName().ToLowerInvariant()}:3181";
            Assert.Equal([expected], await metadata.Store.ListChildrenAsync(BookiePaths.Available));
            Assert.Equal(expected, (await metadata.Store.GetAsync(BookiePaths.AvailableKey(expected)))!.Value.ToStringUtf8());
            await registration.DisposeAsync();
        }
    }
}
