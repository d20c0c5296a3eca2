using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie;
using Tiered.Bookie.V1;
using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests;

/// <summary>
/// A bookie being decommissioned (its key under /bookies/decommissioning, as the admin API writes it):
/// it turns read-only, an idle writer whose ensemble holds it moves away at once, and auto-recovery
/// copies its share of closed ledgers and of the open ledger's earlier segment while it still runs.
/// </summary>
public sealed class DecommissionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out after {Deadline.TotalSeconds} s waiting until {what}.");
            await Task.Delay(50);
        }
    }

    private static Task DecommissionAsync(BookieCluster cluster, string bookieId)
        => cluster.Metadata.PutAsync(BookiePaths.DecommissioningKey(bookieId), Encoding.UTF8.GetBytes("{\"requestedAtMs\":1}")).AsTask();

    [Fact]
    public async Task A_decommissioned_bookie_is_drained_of_closed_and_open_ledgers_and_nothing_is_lost_when_it_stops()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        // The writer reaches the bookies in-process (as the broker of `tiered standalone` does), so that
        // path's end of an add stream is covered too; the cluster test covers the network.
        await using var client = new LedgerClient(cluster.Metadata, new LedgerClientOptions { LocalBookies = cluster.LocalBookies });
        var store = new LedgerMetadataStore(cluster.Metadata);

        // An open ledger that goes idle, and closed ones; E=Qw=Qa=2 of 3 bookies.
        var open = await client.CreateLedgerAsync(2, 2, 2);
        for (var i = 0; i < 100; i++)
            await open.AddEntryAsync(Payload(i));
        var victim = open.Metadata.Segments[0].Bookies[0];
        var closed = new List<long>();
        for (var l = 0; l < 3; l++)
        {
            var writer = await client.CreateLedgerAsync(2, 2, 2);
            for (var i = 0; i < 50; i++)
                await writer.AddEntryAsync(Payload(i));
            await writer.CloseAsync();
            closed.Add(writer.LedgerId);
        }

        await DecommissionAsync(cluster, victim);

        // Read-only: it leaves /bookies/available, so no new ensemble picks it.
        await WaitUntilAsync(async () => await cluster.Metadata.GetAsync(BookiePaths.ReadOnlyKey(victim)) is not null
            && await cluster.Metadata.GetAsync(BookiePaths.AvailableKey(victim)) is null, $"{victim} is registered read-only");
        // No ledger names it any more: the idle writer changed its ensemble, auto-recovery copied the rest.
        await WaitUntilAsync(async () => (await store.ListAllAsync()).All(l => !l.Metadata.Segments.Any(s => s.Bookies.Contains(victim))),
            $"no ledger names {victim}");
        var report = await ReplicationReport.ReadAsync(cluster.Metadata);
        Assert.False(report.LedgersNaming.ContainsKey(victim));
        Assert.Equal(0, report.UnderReplicatedLedgers);
        Assert.Equal(LedgerMetadata.Types.State.Open, (await store.GetAsync(open.LedgerId))!.Metadata.State);

        // The writer goes on, on other bookies, and closes the ledger.
        for (var i = 100; i < 150; i++)
            await open.AddEntryAsync(Payload(i));
        await open.CloseAsync();

        // The bookie goes: everything reads from the others.
        await cluster.StopAsync(victim);
        await using var reader = new LedgerClient(cluster.Metadata);
        foreach (var (ledgerId, entries) in closed.Select(id => (id, 50)).Append((open.LedgerId, 150)))
        {
            var ledger = await reader.OpenLedgerAsync(ledgerId);
            Assert.Equal(entries - 1, ledger.LastAddConfirmed);
            var count = 0;
            await foreach (var entry in ledger.ReadAsync(0, ledger.LastAddConfirmed))
            {
                Assert.Equal(Payload(count), entry.Payload.ToArray());
                count++;
            }
            Assert.Equal(entries, count);
        }
    }

    [Fact]
    public async Task A_ledger_whose_writer_is_gone_is_recovered_while_a_bookie_of_its_ensemble_is_decommissioned_and_then_drained()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = new LedgerClient(cluster.Metadata);
        var store = new LedgerMetadataStore(cluster.Metadata);
        var writer = await client.CreateLedgerAsync(2, 2, 2);
        for (var i = 0; i < 20; i++)
            await writer.AddEntryAsync(Payload(i));
        var victim = writer.Metadata.Segments[0].Bookies[0];
        // The writer's broker died: the ledger stays OPEN; its last entry is known only past the bookies' LAC.
        await writer.DisposeAsync();

        await DecommissionAsync(cluster, victim);
        await WaitUntilAsync(async () => await cluster.Metadata.GetAsync(BookiePaths.ReadOnlyKey(victim)) is not null, $"{victim} is registered read-only");

        // The new owner's recovery writes the last entry back to the whole ensemble, the decommissioning
        // bookie included (recovery adds pass read-only): its stream must not be ended.
        await using var recovering = new LedgerClient(cluster.Metadata);
        var recovered = await recovering.OpenLedgerAsync(writer.LedgerId, recovery: true);
        Assert.Equal(19, recovered.LastAddConfirmed);
        await WaitUntilAsync(async () => !(await store.GetAsync(writer.LedgerId))!.Metadata.Segments.Any(s => s.Bookies.Contains(victim)),
            $"the recovered ledger no longer names {victim}");
        await cluster.StopAsync(victim);
        var count = 0;
        await foreach (var entry in (await recovering.OpenLedgerAsync(writer.LedgerId)).ReadAsync(0, 19))
            Assert.Equal(Payload(count++), entry.Payload.ToArray());
        Assert.Equal(20, count);
    }

    [Fact]
    public async Task A_bookie_started_while_decommissioned_registers_read_only_and_refuses_adds()
    {
        await using var cluster = await BookieCluster.StartAsync(2);
        var root = Directory.CreateTempSubdirectory("tiered-decommissioned-").FullName;
        try
        {
            const string id = "bookie-decommissioned";
            await DecommissionAsync(cluster, id);
            await using var bookie = await BookieServer.StartAsync(new BookieOptions
            {
                Id = id,
                Listen = $"127.0.0.1:{BookieCluster.FreePort()}",
                DataDir = root,
                JournalPreallocationBytes = 0,
                AutoRecovery = false,
            }, NullLoggerFactory.Instance, cluster.Metadata);
            Assert.NotNull(await cluster.Metadata.GetAsync(BookiePaths.ReadOnlyKey(id)));
            Assert.Null(await cluster.Metadata.GetAsync(BookiePaths.AvailableKey(id)));

            var rpc = new Tiered.Bookie.V1.Bookie.BookieClient(bookie.LocalInvoker);
            var info = await rpc.InfoAsync(new InfoRequest());
            Assert.Equal("read-only", info.State);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
