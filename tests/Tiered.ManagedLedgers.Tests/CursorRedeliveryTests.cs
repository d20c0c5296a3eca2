namespace Tiered.ManagedLedgers.Tests;

/// <summary>Redelivery counts and the dead-letter move in progress, stored with the cursor (negative acks, docs/messaging.md).</summary>
[Collection(ClusterCollection.Name)]
public sealed class CursorRedeliveryTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task Redelivery_counts_of_unacknowledged_entries_survive_a_reopen_and_acknowledged_ones_are_dropped()
    {
        var name = NewName();
        await using var client = NewClient();
        List<Position> positions;
        await using (var ledger = await OpenAsync(name, client))
        {
            var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
            positions = await AddAsync(ledger, 0, 5);
            cursor.SetRedeliveryCount(positions[1], 2);
            cursor.SetRedeliveryCount(positions[3], 1);
            cursor.SetRedeliveryCount(positions[4], 5);
            await cursor.StoreRedeliveryCountsAsync();
            var (stored, _) = await StoredCursorAsync(name, "sub");
            Assert.Equal(3, stored.RedeliveryCounts.Count);
            // Stored already: nothing more to store.
            var storesBefore = cursor.StoreCount;
            await cursor.StoreRedeliveryCountsAsync();
            Assert.Equal(storesBefore, cursor.StoreCount);
            await cursor.AckAsync([new AckPosition(positions[0]), new AckPosition(positions[1]), new AckPosition(positions[4])]);
            cursor.SetRedeliveryCount(positions[3], 0);
            cursor.SetRedeliveryCount(positions[2], 1);
            await cursor.StoreRedeliveryCountsAsync();
        }

        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        var again = Assert.Single(reopened.Cursors);
        Assert.Equal(new Dictionary<Position, int> { [positions[2]] = 1 }, again.RedeliveryCounts);
    }

    [Fact]
    public async Task A_dead_letter_move_begun_is_found_after_a_reopen_and_ending_it_acknowledges_the_entry()
    {
        var name = NewName();
        await using var client = NewClient();
        List<Position> positions;
        var inFlight = (DeadLetterInFlight?)null;
        await using (var ledger = await OpenAsync(name, client))
        {
            var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
            positions = await AddAsync(ledger, 0, 3);
            inFlight = new DeadLetterInFlight(positions[1], "persistent://public/default/t-sub-DLQ", 7, new Position(3, 9));
            cursor.SetRedeliveryCount(positions[1], 4);
            await cursor.BeginDeadLetterAsync(inFlight);
        }

        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        var again = Assert.Single(reopened.Cursors);
        Assert.Equal(inFlight, again.DeadLetterInFlight);
        Assert.Equal(6, again.DeadLetterLastSequenceId);
        await again.EndDeadLetterAsync(inFlight, lastSequenceId: 7);
        Assert.True(again.IsAcknowledged(positions[1]));
        Assert.Null(again.DeadLetterInFlight);
        Assert.Empty(again.RedeliveryCounts);
        var (stored, _) = await StoredCursorAsync(name, "sub");
        Assert.Null(stored.DeadLetterInFlight);
        Assert.Equal(7, stored.DeadLetterLastSequenceId);
    }
}
