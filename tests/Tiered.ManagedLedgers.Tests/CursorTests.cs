namespace Tiered.ManagedLedgers.Tests;

[Collection(ClusterCollection.Name)]
public sealed class CursorTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task Individual_acks_with_gaps_survive_a_reopen_nothing_acked_is_read_again_and_nothing_unacked_is_lost()
    {
        var name = NewName();
        await using var client = NewClient();
        List<Position> positions;
        int[] acked = [0, 1, 2, 3, 4, 7, 9, 10, 14];
        await using (var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 6)))
        {
            var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
            positions = await AddAsync(ledger, 0, 20);
            Assert.Equal(20, cursor.Backlog);
            Assert.Equal(Enumerable.Range(0, 20), (await DrainAsync(cursor)).Select(MessageOf));

            await cursor.AckAsync([.. acked.Select(i => new AckPosition(positions[i]))]);

            Assert.Equal(positions[4], cursor.MarkDeletePosition);
            Assert.Equal(20 - acked.Length, cursor.Backlog);
        }

        await using var reopened = await OpenAsync(name, client, Small(entriesPerLedger: 6), createIfMissing: false);
        var again = Assert.Single(reopened.Cursors);
        Assert.Equal("sub", again.Name);
        Assert.Equal(positions[4], again.MarkDeletePosition);
        Assert.Equal(20 - acked.Length, again.Backlog);
        // Entries 6 … 11 are in the second ledger: 7 and 9–10 are its ranges; 14 is in the third.
        Assert.Equal([(positions[7], positions[7]), (positions[9], positions[10]), (positions[14], positions[14])], again.AckedRanges);
        var redelivered = (await DrainAsync(again)).Select(MessageOf).ToList();
        Assert.Equal(Enumerable.Range(0, 20).Except(acked), redelivered);
        Assert.Equal(redelivered.Count, redelivered.Distinct().Count());

        await again.AckAsync([new AckPosition(positions[5]), new AckPosition(positions[6]), new AckPosition(positions[8])]);
        Assert.Equal(positions[10], again.MarkDeletePosition);
    }

    [Fact]
    public async Task An_ack_completes_only_once_it_is_stored()
    {
        var name = NewName();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client);
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Latest);
        var positions = await AddAsync(ledger, 0, 10);

        for (var i = 0; i < 10; i += 2)
        {
            await cursor.AckAsync([new AckPosition(positions[i])]);
            var (stored, _) = await StoredCursorAsync(name, "sub");
            var storedAcks = stored.AckedRanges.Sum(r => r.LastEntryId - r.FirstEntryId + 1)
                + (stored.MarkDeleteLedgerId == positions[0].LedgerId ? stored.MarkDeleteEntryId - positions[0].EntryId + 1 : 0);
            Assert.Equal(i / 2 + 1, storedAcks);
        }
        await cursor.AckCumulativeAsync(new AckPosition(positions[9]));
        var (final, _) = await StoredCursorAsync(name, "sub");
        Assert.Equal(positions[9], new Position(final.MarkDeleteLedgerId, final.MarkDeleteEntryId));
        Assert.Empty(final.AckedRanges);
    }

    [Fact]
    public async Task An_acknowledgement_that_completed_survives_a_crash_of_the_owner()
    {
        var name = NewName();
        var crashed = NewClient();
        var ledger = await OpenAsync(name, crashed);
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
        var positions = await AddAsync(ledger, 0, 8);
        await cursor.AckAsync([new AckPosition(positions[0]), new AckPosition(positions[1]), new AckPosition(positions[5])]);
        await crashed.DisposeAsync();

        await using var client = NewClient();
        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        var again = Assert.Single(reopened.Cursors);
        Assert.Equal(positions[1], again.MarkDeletePosition);
        Assert.True(again.IsAcknowledged(positions[5]));
        Assert.Equal([2, 3, 4, 6, 7], (await DrainAsync(again)).Select(MessageOf));
    }

    [Fact]
    public async Task Concurrent_acks_are_group_committed_into_far_fewer_stores()
    {
        var name = NewName();
        await using var client = NewClient();
        var ledger = await OpenAsync(name, client);
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
        const int Entries = 300;
        var positions = await AddAsync(ledger, 0, Entries);
        var (_, versionBefore) = await StoredCursorAsync(name, "sub");

        // Every other entry first (ranges with holes), then the rest, all at once.
        var order = positions.Where((_, i) => i % 2 == 1).Concat(positions.Where((_, i) => i % 2 == 0)).ToList();
        await Task.WhenAll(order.Select(p => cursor.AckAsync([new AckPosition(p)]).AsTask()));

        var (stored, versionAfter) = await StoredCursorAsync(name, "sub");
        var stores = versionAfter - versionBefore;
        Assert.True(stores < Entries / 4, $"{Entries} acks took {stores} stores.");
        Assert.Equal(stores, cursor.StoreCount);
        Assert.Equal(positions[^1], new Position(stored.MarkDeleteLedgerId, stored.MarkDeleteEntryId));
        Assert.Equal(0, cursor.Backlog);
        await ledger.DisposeAsync();

        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        var again = Assert.Single(reopened.Cursors);
        Assert.Equal(positions[^1], again.MarkDeletePosition);
        Assert.Empty(await DrainAsync(again));
    }

    [Fact]
    public async Task Batch_index_acks_survive_a_reopen_and_a_fully_acked_batch_acks_its_entry()
    {
        var name = NewName();
        await using var client = NewClient();
        List<Position> positions;
        await using (var ledger = await OpenAsync(name, client))
        {
            var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
            positions = await AddAsync(ledger, 0, 5);
            await cursor.AckAsync([new AckPosition(positions[0], 0, 4), new AckPosition(positions[0], 2, 4), new AckPosition(positions[2], 1, 70)]);
            Assert.False(cursor.IsAcknowledged(positions[0]));
            Assert.Equal([0, 2], cursor.AckedBatchIndexes(positions[0]));
        }

        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        var again = Assert.Single(reopened.Cursors);
        Assert.Equal([0, 2], again.AckedBatchIndexes(positions[0]));
        Assert.Equal([1], again.AckedBatchIndexes(positions[2]));
        // A partly acknowledged entry is still delivered: its other messages are not acknowledged.
        Assert.Equal(Enumerable.Range(0, 5), (await DrainAsync(again)).Select(MessageOf));

        await again.AckAsync([new AckPosition(positions[0], 1, 4), new AckPosition(positions[0], 3, 4)]);
        Assert.True(again.IsAcknowledged(positions[0]));
        Assert.Empty(again.AckedBatchIndexes(positions[0]));
        Assert.Equal(positions[0], again.MarkDeletePosition);
    }

    [Fact]
    public async Task A_cumulative_ack_with_a_batch_index_acks_the_entries_before_and_that_entrys_messages_up_to_the_index()
    {
        var name = NewName();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 4));
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
        var positions = await AddAsync(ledger, 0, 10);

        await cursor.AckCumulativeAsync(new AckPosition(positions[5], 1, 3));

        Assert.Equal(positions[4], cursor.MarkDeletePosition);
        Assert.Equal([0, 1], cursor.AckedBatchIndexes(positions[5]));
        Assert.Equal(5, cursor.Backlog);
        var (stored, _) = await StoredCursorAsync(name, "sub");
        Assert.Equal(positions[5].EntryId, Assert.Single(stored.BatchAcks).EntryId);

        await cursor.AckCumulativeAsync(new AckPosition(positions[5], 2, 3));
        Assert.Equal(positions[5], cursor.MarkDeletePosition);
        Assert.Empty(cursor.AckedBatchIndexes(positions[5]));
        Assert.Equal(Enumerable.Range(6, 4), (await DrainAsync(cursor)).Select(MessageOf));
    }

    [Fact]
    public async Task Reset_skip_and_clear_backlog_move_the_acknowledgement_state()
    {
        var name = NewName();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 5));
        var positions = await AddAsync(ledger, 0, 12);
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
        var latest = await ledger.OpenCursorAsync("latest", InitialPosition.Latest);
        Assert.Equal(12, cursor.Backlog);
        Assert.Equal(0, latest.Backlog);

        await cursor.AckAsync([new AckPosition(positions[1])]);
        await cursor.SkipAsync(3);
        Assert.Equal(positions[3], cursor.MarkDeletePosition);
        Assert.Equal(8, cursor.Backlog);

        await cursor.ResetAsync(positions[7]);
        Assert.Equal(positions[6], cursor.MarkDeletePosition);
        Assert.Equal(positions[7], cursor.ReadPosition);
        Assert.Equal(5, cursor.Backlog);
        Assert.Equal(Enumerable.Range(7, 5), (await DrainAsync(cursor)).Select(MessageOf));

        await cursor.ResetAsync(Position.Earliest);
        Assert.Equal(12, cursor.Backlog);
        Assert.Equal(Enumerable.Range(0, 12), (await DrainAsync(cursor)).Select(MessageOf));

        cursor.Rewind();
        Assert.Equal(positions[0], cursor.ReadPosition);
        cursor.Seek(positions[10]);
        Assert.Equal([10, 11], (await DrainAsync(cursor)).Select(MessageOf));

        await cursor.ClearBacklogAsync();
        Assert.Equal(0, cursor.Backlog);
        Assert.Equal(positions[^1], cursor.MarkDeletePosition);
        var (stored, _) = await StoredCursorAsync(name, "sub");
        Assert.Equal(positions[^1], new Position(stored.MarkDeleteLedgerId, stored.MarkDeleteEntryId));
    }

    [Fact]
    public async Task A_tailing_cursor_reads_each_entry_once_as_it_arrives()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 3));
        var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Latest);
        var received = new List<int>();
        using var stop = new CancellationTokenSource(Deadline);

        var reading = Task.Run(async () =>
        {
            while (received.Count < 10)
            {
                await cursor.WaitForEntriesAsync(stop.Token);
                foreach (var entry in await cursor.ReadEntriesAsync(4, stop.Token))
                    received.Add(MessageOf(entry));
            }
        });
        for (var i = 0; i < 10; i++)
            await ledger.AddEntryAsync(Payload(i));
        await reading.WaitAsync(Deadline);

        Assert.Equal(Enumerable.Range(0, 10), received);
    }

    [Fact]
    public async Task A_non_durable_cursor_reads_and_acks_without_storing_anything()
    {
        var name = NewName();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client);
        var positions = await AddAsync(ledger, 0, 6);

        var reader = ledger.OpenNonDurableCursor(positions[1]);
        Assert.False(reader.IsDurable);
        Assert.Equal(4, reader.Backlog);
        await reader.AckAsync([new AckPosition(positions[3])]);
        Assert.Equal([2, 4, 5], (await DrainAsync(reader)).Select(MessageOf));
        Assert.Equal(6, (await DrainAsync(ledger.OpenNonDurableCursor(Position.Earliest))).Count);
        Assert.Empty(ledger.Cursors);
        Assert.Empty(await Metadata.ListChildrenAsync(StoredPaths.Cursors(name)));
    }

    [Fact]
    public async Task A_deleted_cursor_is_gone_after_a_reopen()
    {
        var name = NewName();
        await using var client = NewClient();
        await using (var ledger = await OpenAsync(name, client))
        {
            await ledger.OpenCursorAsync("a", InitialPosition.Latest);
            var b = await ledger.OpenCursorAsync("b/with slash", InitialPosition.Latest);
            Assert.True(await ledger.DeleteCursorAsync("a"));
            Assert.False(await ledger.DeleteCursorAsync("a"));
            await ledger.AddEntryAsync(Payload(0));
            Assert.Equal(1, b.Backlog);
        }

        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        var only = Assert.Single(reopened.Cursors);
        Assert.Equal("b/with slash", only.Name);
        Assert.Equal(1, only.Backlog);
    }
}
