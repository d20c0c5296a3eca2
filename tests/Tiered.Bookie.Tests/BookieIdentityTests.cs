using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.Storage;
using Tiered.Ledger;
using Tiered.Testing;

namespace Tiered.Bookie.Tests;

/// <summary>A bookie's id, separate from where it listens, and the cookie that ties its data to that id.</summary>
public sealed class BookieIdentityTests
{
    private static BookieOptions Options(string listen, string dataDir, string? id = null) => new()
    {
        Listen = listen,
        Id = id,
        DataDir = dataDir,
        JournalPreallocationBytes = 0,
        AutoRecovery = false,
    };

    private static byte[] Payload(int i) => Encoding.UTF8.GetBytes($"entry {i}");

    [Fact]
    public async Task A_bookie_restarted_on_another_port_with_the_same_id_keeps_its_ledgers_readable_through_the_ledger_client()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        var dataDir = Path.Combine(metadata.Root, "bookie");
        await using var client = new LedgerClient(metadata.Store, new LedgerClientOptions { ConnectTimeout = TimeSpan.FromSeconds(1), ReadTimeout = TimeSpan.FromSeconds(2) });
        long ledgerId;
        await using (var first = await BookieServer.StartAsync(Options($"127.0.0.1:{LocalMetadata.FreePort()}", dataDir, id: "bookie-a"), NullLoggerFactory.Instance, metadata.Store))
        {
            var writer = await client.CreateLedgerAsync(1, 1, 1);
            ledgerId = writer.LedgerId;
            Assert.Equal(["bookie-a"], writer.Metadata.Segments.Single().Bookies);
            for (var i = 0; i < 20; i++)
                await writer.AddEntryAsync(Payload(i));
            await writer.CloseAsync();
            Assert.Equal("entry 3", Encoding.UTF8.GetString((await (await client.OpenLedgerAsync(ledgerId)).ReadEntryAsync(3)).Payload.Span));
        }

        var newListen = $"127.0.0.1:{LocalMetadata.FreePort()}";
        await using var second = await BookieServer.StartAsync(Options(newListen, dataDir, id: "bookie-a"), NullLoggerFactory.Instance, metadata.Store);
        Assert.Equal(newListen, (await metadata.Store.GetAsync(BookiePaths.AvailableKey("bookie-a")))!.Value.ToStringUtf8());

        // The same client follows the registration to the new address (it held a connection to the old one).
        var entries = await Eventually(async () =>
        {
            var reader = await client.OpenLedgerAsync(ledgerId);
            var read = new List<string>();
            await foreach (var entry in reader.ReadAsync(0, 19))
                read.Add(Encoding.UTF8.GetString(entry.Payload.Span));
            return read;
        });
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"entry {i}"), entries);

        // A client that never knew the old address reads it too.
        await using var fresh = new LedgerClient(metadata.Store);
        Assert.Equal("entry 19", Encoding.UTF8.GetString((await (await fresh.OpenLedgerAsync(ledgerId)).ReadEntryAsync(19)).Payload.Span));
    }

    [Fact]
    public async Task A_bookie_given_another_bookies_data_directory_refuses_to_start_and_says_what_to_do()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        var dataDir = Path.Combine(metadata.Root, "bookie");
        await (await BookieServer.StartAsync(Options($"127.0.0.1:{LocalMetadata.FreePort()}", dataDir, id: "bookie-a"), NullLoggerFactory.Instance, metadata.Store)).DisposeAsync();

        var e = await Assert.ThrowsAsync<BookieIdentityException>(() =>
            BookieServer.StartAsync(Options($"127.0.0.1:{LocalMetadata.FreePort()}", dataDir, id: "bookie-b"), NullLoggerFactory.Instance, metadata.Store));
        Assert.Contains("belongs to bookie 'bookie-a'", e.Message, StringComparison.Ordinal);
        Assert.Contains("--id bookie-a", e.Message, StringComparison.Ordinal);
        Assert.Contains("empty data and journal directories", e.Message, StringComparison.Ordinal);
        Assert.Empty(await metadata.Store.ListChildrenAsync(BookiePaths.Available));
    }

    [Fact]
    public async Task A_bookie_whose_default_id_changed_with_its_listen_address_refuses_and_names_the_id_to_keep()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        var dataDir = Path.Combine(metadata.Root, "bookie");
        var firstListen = $"127.0.0.1:{LocalMetadata.FreePort()}";
        await (await BookieServer.StartAsync(Options(firstListen, dataDir), NullLoggerFactory.Instance, metadata.Store)).DisposeAsync();

        var e = await Assert.ThrowsAsync<BookieIdentityException>(() =>
            BookieServer.StartAsync(Options($"127.0.0.1:{LocalMetadata.FreePort()}", dataDir), NullLoggerFactory.Instance, metadata.Store));
        Assert.Contains($"--id {firstListen}", e.Message, StringComparison.Ordinal);

        // With the old id given, it starts at the new address.
        await using var restarted = await BookieServer.StartAsync(Options($"127.0.0.1:{LocalMetadata.FreePort()}", dataDir, id: firstListen), NullLoggerFactory.Instance, metadata.Store);
        Assert.Equal([firstListen], await metadata.Store.ListChildrenAsync(BookiePaths.Available));
    }

    [Fact]
    public async Task A_bookie_started_with_a_host_name_listen_address_is_reached_by_the_ledger_client_under_that_name()
    {
        var name = LoopbackHostName.Require();
        await using var metadata = await LocalMetadata.StartAsync();
        var listen = $"{name}:{LocalMetadata.FreePort()}";
        await using var bookie = await BookieServer.StartAsync(Options(listen, Path.Combine(metadata.Root, "bookie")), NullLoggerFactory.Instance, metadata.Store);
        Assert.Equal([listen], await metadata.Store.ListChildrenAsync(BookiePaths.Available));

        await using var client = new LedgerClient(metadata.Store);
        var writer = await client.CreateLedgerAsync(1, 1, 1);
        await writer.AddEntryAsync(Payload(0));
        await writer.CloseAsync();
        Assert.Equal("entry 0", Encoding.UTF8.GetString((await (await client.OpenLedgerAsync(writer.LedgerId)).ReadEntryAsync(0)).Payload.Span));
    }

    private static async Task<T> Eventually<T>(Func<Task<T>> attempt)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                return await attempt();
            }
            catch (LedgerException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
