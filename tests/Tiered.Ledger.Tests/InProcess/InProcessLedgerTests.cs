using Tiered.Testing;

using static Tiered.Ledger.Tests.LedgerTestData;

namespace Tiered.Ledger.Tests.InProcess;

/// <summary>A ledger client that reaches every bookie in-process works exactly as one over the network.</summary>
public sealed class InProcessLedgerTests
{
    private static LedgerClient LocalClient(BookieCluster cluster) =>
        new(cluster.Metadata, new LedgerClientOptions { LocalBookies = cluster.LocalBookies });

    [Fact]
    public async Task Ten_thousand_pipelined_entries_written_in_process_read_back_in_process_and_over_the_network()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var client = LocalClient(cluster);

        var writer = await WriteAsync(client, 10_000);
        await writer.CloseAsync();

        AssertEntries(10_000, await ReadAllAsync(await client.OpenLedgerAsync(writer.LedgerId)));
        await using var remote = new LedgerClient(cluster.Metadata);
        AssertEntries(10_000, await ReadAllAsync(await remote.OpenLedgerAsync(writer.LedgerId)));
    }

    [Fact]
    public async Task Recovery_in_process_fences_the_writer_and_closes_the_ledger_at_the_last_confirmed_entry()
    {
        await using var cluster = await BookieCluster.StartAsync(3);
        await using var clientA = LocalClient(cluster);
        var writer = await WriteAsync(clientA, 500);

        await using var clientB = LocalClient(cluster);
        var ledger = await clientB.OpenLedgerAsync(writer.LedgerId, recovery: true);

        await Assert.ThrowsAsync<LedgerFencedException>(async () => await writer.AddEntryAsync(Payload(500)));
        Assert.True(ledger.IsClosed);
        Assert.Equal(499, ledger.LastAddConfirmed);
        AssertEntries(500, await ReadAllAsync(ledger));
    }

    [Fact]
    public async Task A_writer_whose_in_process_bookie_stops_replaces_it_and_loses_no_acknowledged_entry()
    {
        await using var cluster = await BookieCluster.StartAsync(4);
        await using var client = LocalClient(cluster);
        var writer = await WriteAsync(client, 200);
        var ensembleBookie = cluster.BookieIds.First(id => writer.Metadata.Segments[^1].Bookies.Contains(id));

        await cluster.StopAsync(ensembleBookie);
        var adds = new Task<long>[200];
        for (var i = 0; i < adds.Length; i++)
            adds[i] = writer.AddEntryAsync(Payload(200 + i)).AsTask();
        Assert.Equal(Enumerable.Range(200, 200).Select(i => (long)i), await Task.WhenAll(adds));
        await writer.CloseAsync();

        Assert.DoesNotContain(ensembleBookie, writer.Metadata.Segments[^1].Bookies);
        await using var reader = LocalClient(cluster);
        AssertEntries(400, await ReadAllAsync(await reader.OpenLedgerAsync(writer.LedgerId)));
    }
}
