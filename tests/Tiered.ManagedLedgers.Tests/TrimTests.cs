using Tiered.Ledger;

namespace Tiered.ManagedLedgers.Tests;

[Collection(ClusterCollection.Name)]
public sealed class TrimTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    private static readonly RetentionPolicy Forever = new(TimeSpan.FromMilliseconds(-1), -1);

    [Fact]
    public async Task Trimming_deletes_only_ledgers_every_durable_cursor_has_consumed()
    {
        var name = NewName();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 5));
        var slow = await ledger.OpenCursorAsync("slow", InitialPosition.Earliest);
        var fast = await ledger.OpenCursorAsync("fast", InitialPosition.Earliest);
        var positions = await AddAsync(ledger, 0, 22);
        var ledgerIds = ledger.Ledgers.Select(l => l.LedgerId).ToList();
        Assert.Equal(5, ledgerIds.Count);

        await fast.ClearBacklogAsync();
        await slow.AckCumulativeAsync(new AckPosition(positions[12]));
        await ledger.TrimAsync(RetentionPolicy.None);

        // Entries 0–9 (two ledgers) are consumed by both cursors; 10–14 only partly.
        Assert.Equal(ledgerIds.Skip(2), ledger.Ledgers.Select(l => l.LedgerId));
        await Assert.ThrowsAsync<LedgerNotFoundException>(() => client.OpenLedgerAsync(ledgerIds[0]));
        await Assert.ThrowsAsync<LedgerNotFoundException>(() => client.OpenLedgerAsync(ledgerIds[1]));
        Assert.Equal(positions[10], ledger.FirstPosition);
        Assert.Equal(12, ledger.NumberOfEntries);
        Assert.Equal(9, slow.Backlog);
        Assert.Equal(Enumerable.Range(13, 9), (await DrainAsync(slow)).Select(MessageOf));

        // Without durable cursors every closed ledger goes, never the current one.
        Assert.True(await ledger.DeleteCursorAsync("slow"));
        Assert.True(await ledger.DeleteCursorAsync("fast"));
        await ledger.TrimAsync(RetentionPolicy.None);
        var current = Assert.Single(ledger.Ledgers);
        Assert.True(current.IsOpen);
        Assert.Equal(ledgerIds[^1], current.LedgerId);
        Assert.Equal(2, (await ReadAllAsync(ledger)).Count);

        await using var reopened = await OpenAsync(name, client, Small(entriesPerLedger: 5), createIfMissing: false);
        Assert.Equal(positions[20], reopened.FirstPosition);
        Assert.Equal([20, 21], (await ReadAllAsync(reopened)).Select(MessageOf));
    }

    [Fact]
    public async Task Retention_keeps_consumed_ledgers_by_time_and_size()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 4), time: clock);
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
        await AddAsync(ledger, 0, 9);
        clock.Advance(TimeSpan.FromMinutes(30));
        await AddAsync(ledger, 9, 8);
        await cursor.ClearBacklogAsync();
        // Five ledgers: two closed 30 minutes ago, two closed now, and the current one.
        Assert.Equal(5, ledger.Ledgers.Count);

        await ledger.TrimAsync(Forever);
        Assert.Equal(5, ledger.Ledgers.Count);

        await ledger.TrimAsync(new RetentionPolicy(TimeSpan.FromMinutes(10), -1));
        Assert.Equal(3, ledger.Ledgers.Count);

        var sizes = ledger.Ledgers.Select(l => l.Size).ToList();
        Assert.All(sizes.SkipLast(1), s => Assert.True(s > 0));
        // Room for the newest consumed ledger only: the older one goes.
        await ledger.TrimAsync(new RetentionPolicy(TimeSpan.FromMilliseconds(-1), sizes[1]));
        Assert.Equal(2, ledger.Ledgers.Count);

        await ledger.TrimAsync(new RetentionPolicy(TimeSpan.FromMilliseconds(-1), 0));
        Assert.True(Assert.Single(ledger.Ledgers).IsOpen);
    }
}
