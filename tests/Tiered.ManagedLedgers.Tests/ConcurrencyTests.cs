using Tiered.Ledger;

namespace Tiered.ManagedLedgers.Tests;

[Collection(ClusterCollection.Name)]
public sealed class ConcurrencyTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task Concurrent_producers_and_a_tailing_consumer_see_every_entry_once_in_order_through_rollovers_and_a_full_writer_window()
    {
        const int Producers = 4, PerProducer = 150, Total = Producers * PerProducer;
        // A writer window of 4 makes most adds queue in the managed ledger behind the ones in flight.
        await using var client = new LedgerClient(Metadata, new LedgerClientOptions { MaxPendingAdds = 4 });
        var name = NewName();
        var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 25) with { EntryCacheBytes = 2_000 });
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Latest);
        using var stop = new CancellationTokenSource(Deadline);

        var consumed = new List<ManagedEntry>();
        var consuming = Task.Run(async () =>
        {
            while (consumed.Count < Total)
            {
                await cursor.WaitForEntriesAsync(stop.Token);
                var batch = await cursor.ReadEntriesAsync(50, stop.Token);
                consumed.AddRange(batch);
                if (batch.Count > 0)
                    await cursor.AckAsync([.. batch.Select(e => new AckPosition(e.Position))], stop.Token);
            }
        });
        var producing = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            var adds = new List<Task<Position>>();
            for (var i = 0; i < PerProducer; i++)
                adds.Add(ledger.AddEntryAsync(Payload(p * PerProducer + i)).AsTask());
            return await Task.WhenAll(adds);
        })).ToList();
        var positions = await Task.WhenAll(producing);
        await consuming.WaitAsync(Deadline);

        foreach (var own in positions)
        {
            for (var i = 1; i < own.Length; i++)
                Assert.True(own[i] > own[i - 1]);
        }
        var all = positions.SelectMany(p => p).Order().ToList();
        Assert.Equal(Total, all.Distinct().Count());
        Assert.Equal(all, consumed.Select(e => e.Position));
        Assert.Equal(Total, consumed.Select(MessageOf).Distinct().Count());
        // The last ledger is full but still current: a rollover happens on the next add.
        Assert.Equal(Total / 25, ledger.Ledgers.Count);
        Assert.All(ledger.Ledgers, l => Assert.Equal(25, l.Entries));
        Assert.Equal(all[^1], cursor.MarkDeletePosition);
        Assert.Equal(0, cursor.Backlog);
        await ledger.DisposeAsync();

        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        Assert.Equal(all, (await ReadAllAsync(reopened)).Select(e => e.Position));
        Assert.Equal(all[^1], Assert.Single(reopened.Cursors).MarkDeletePosition);
    }
}
