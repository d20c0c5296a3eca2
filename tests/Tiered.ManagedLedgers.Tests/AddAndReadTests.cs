using Tiered.Ledger;

namespace Tiered.ManagedLedgers.Tests;

[Collection(ClusterCollection.Name)]
public sealed class AddAndReadTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture)
{
    [Fact]
    public async Task Entries_added_across_rollovers_complete_in_call_order_and_read_back_in_order()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10));
        const int Entries = 95;

        var completionOrder = new List<int>();
        var adds = new Task<Position>[Entries];
        for (var i = 0; i < Entries; i++)
        {
            var index = i;
            adds[i] = ledger.AddEntryAsync(Payload(i)).AsTask();
            _ = adds[i].ContinueWith(_ =>
            {
                lock (completionOrder)
                    completionOrder.Add(index);
            }, TaskContinuationOptions.ExecuteSynchronously);
        }
        var positions = await Task.WhenAll(adds);

        for (var i = 1; i < Entries; i++)
            Assert.True(positions[i] > positions[i - 1], $"Add {i} got {positions[i]}, not after {positions[i - 1]}.");
        Assert.Equal(10, positions.Select(p => p.LedgerId).Distinct().Count());
        Assert.All(positions.GroupBy(p => p.LedgerId), g => Assert.True(g.Count() <= 10));
        Assert.Equal(Entries, ledger.NumberOfEntries);
        Assert.Equal(Entries, ledger.EntriesAddedCounter);
        Assert.Equal(positions[^1], ledger.LastConfirmedEntry);
        Assert.Equal(positions[0], ledger.FirstPosition);

        var read = await ReadAllAsync(ledger);
        Assert.Equal(Enumerable.Range(0, Entries), read.Select(MessageOf));
        Assert.Equal(positions, read.Select(e => e.Position));
        Assert.Equal(Entries, ledger.GetEntriesBetween(new Position(-1, -1), ledger.LastConfirmedEntry));
        Assert.Equal(positions[10], ledger.GetNextPosition(positions[9]));
        Assert.Equal(11, ledger.GetEntriesBetween(positions[3], positions[14]));
        Assert.Empty(await ledger.ReadEntriesAsync(ledger.GetNextPosition(ledger.LastConfirmedEntry), 10));
    }

    [Fact]
    public async Task A_reopened_managed_ledger_keeps_every_entry_and_adds_after_them()
    {
        var name = NewName();
        await using var client = NewClient();
        List<Position> before;
        await using (var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 7)))
            before = await AddAsync(ledger, 0, 25);

        await using var reopened = await OpenAsync(name, client, Small(entriesPerLedger: 7), createIfMissing: false);
        Assert.Equal(25, reopened.NumberOfEntries);
        Assert.Equal(before[^1], reopened.LastConfirmedEntry);
        var after = await AddAsync(reopened, 25, 5);
        Assert.True(after[0] > before[^1]);
        var read = await ReadAllAsync(reopened);
        Assert.Equal(Enumerable.Range(0, 30), read.Select(MessageOf));
        Assert.Equal([.. before, .. after], read.Select(e => e.Position));
    }

    [Fact]
    public async Task Opening_a_missing_managed_ledger_without_create_fails()
    {
        await using var client = NewClient();
        var name = NewName();

        var error = await Assert.ThrowsAsync<ManagedLedgerException>(() => OpenAsync(name, client, createIfMissing: false));
        Assert.Contains("not found", error.Message);
        Assert.False(await ManagedLedger.ExistsAsync(name, Metadata));
    }

    [Fact]
    public async Task After_a_crash_the_next_owner_recovers_every_acknowledged_entry()
    {
        var name = NewName();
        List<Position> acknowledged;
        var crashed = NewClient();
        var old = await OpenAsync(name, crashed, Small(entriesPerLedger: 20));
        acknowledged = await AddAsync(old, 0, 45);
        // The owner dies: its writers stop without closing their ledgers.
        await crashed.DisposeAsync();

        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 20), createIfMissing: false);

        var read = await ReadAllAsync(ledger);
        Assert.Equal(Enumerable.Range(0, 45), read.Select(MessageOf));
        Assert.Equal(acknowledged, read.Select(e => e.Position));
        Assert.Equal(acknowledged[^1], ledger.LastConfirmedEntry);
        Assert.All(ledger.Ledgers.SkipLast(1), l => Assert.False(l.IsOpen));
        Assert.Equal(45, ledger.Ledgers.SkipLast(1).Sum(l => l.Entries));
        // The crashed instance cannot add any more (its writers are gone).
        await Assert.ThrowsAnyAsync<ManagedLedgerException>(async () => await old.AddEntryAsync(Payload(45)));
    }

    [Fact]
    public async Task A_new_owner_fences_the_old_one_whose_next_add_fails_as_fenced()
    {
        var name = NewName();
        await using var oldClient = NewClient();
        var old = await OpenAsync(name, oldClient);
        var oldCursor = await old.OpenCursorAsync("sub", InitialPosition.Earliest);
        var acknowledged = await AddAsync(old, 0, 12);

        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client, createIfMissing: false);

        await Assert.ThrowsAsync<ManagedLedgerFencedException>(async () => await oldCursor.AckAsync([new AckPosition(acknowledged[0])]));
        await Assert.ThrowsAsync<ManagedLedgerFencedException>(async () => await old.AddEntryAsync(Payload(99)));
        await Assert.ThrowsAsync<ManagedLedgerFencedException>(async () => await old.AddEntryAsync(Payload(100)));
        await old.DisposeAsync();
        var read = await ReadAllAsync(ledger);
        Assert.Equal(acknowledged, read.Select(e => e.Position));
        Assert.Equal(Enumerable.Range(0, 12), read.Select(MessageOf));
        var more = await AddAsync(ledger, 12, 3);
        Assert.True(more[0] > acknowledged[^1]);
        var cursor = Assert.Single(ledger.Cursors);
        await cursor.AckAsync([new AckPosition(acknowledged[0])]);
        Assert.Equal(acknowledged[0], cursor.MarkDeletePosition);
    }

    [Fact]
    public async Task An_old_ledger_rolls_over_on_the_next_add()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small() with { MaxLedgerAge = TimeSpan.FromMinutes(10) }, time: clock);
        var first = await ledger.AddEntryAsync(Payload(0));

        clock.Advance(TimeSpan.FromMinutes(11));
        var second = await ledger.AddEntryAsync(Payload(1));
        var third = await ledger.AddEntryAsync(Payload(2));

        Assert.NotEqual(first.LedgerId, second.LedgerId);
        Assert.Equal(second.LedgerId, third.LedgerId);
        Assert.False(ledger.Ledgers[0].IsOpen);
        Assert.Equal(1, ledger.Ledgers[0].Entries);
    }

    [Fact]
    public async Task A_ledger_rolls_over_once_it_holds_the_maximum_size()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small() with { MaxSizePerLedger = 100 });
        var payload = new byte[40];

        for (var i = 0; i < 9; i++)
            await ledger.AddEntryAsync(payload);

        // 40 + 40 + 40 bytes reach 100: every ledger holds three entries.
        Assert.Equal([3, 3, 3], ledger.Ledgers.Select(l => l.Entries));
        Assert.All(ledger.Ledgers.SkipLast(1), l => Assert.Equal(120, l.Size));
    }

    [Fact]
    public async Task A_large_cached_entry_is_the_adders_memory_not_a_copy()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client);
        // Cached because a consumer reads at the tail.
        (await ledger.OpenCursorAsync("tail", InitialPosition.Latest)).SetActive();
        var payload = new byte[EntryCache.MaxCopiedBytes + 1];
        payload.AsSpan().Fill(3);

        var position = await ledger.AddEntryAsync(payload);

        var entry = Assert.Single(await ledger.ReadEntriesAsync(position, 1));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(entry.Data, out var segment));
        Assert.Same(payload, segment.Array);
    }

    [Fact]
    public async Task With_a_small_cache_old_entries_are_evicted_and_read_from_the_bookies()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 8) with { EntryCacheBytes = 200 });
        // A consumer at the tail that keeps up (its read position follows the adds): added entries are cached.
        var tail = await ledger.OpenCursorAsync("tail", InitialPosition.Latest);
        tail.SetActive();
        var positions = new List<Position>();
        for (var i = 0; i < 30; i++)
        {
            positions.Add(await ledger.AddEntryAsync(Payload(i)));
            tail.Seek(ledger.GetNextPosition(positions[^1]));
        }

        Assert.InRange(ledger.Cache.Bytes, 1, 200);
        Assert.InRange(ledger.Cache.Count, 1, 29);
        var read = await ReadAllAsync(ledger);
        Assert.Equal(Enumerable.Range(0, 30), read.Select(MessageOf));
        Assert.Equal(positions, read.Select(e => e.Position));
        // A range in the middle, crossing a ledger boundary, none of it cached.
        var middle = await ledger.ReadEntriesAsync(positions[5], 6);
        Assert.Equal(Enumerable.Range(5, 6), middle.Select(MessageOf));
    }

    [Fact]
    public async Task A_tailing_reader_wakes_up_when_the_next_entry_is_confirmed()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client);
        var last = await ledger.AddEntryAsync(Payload(0));
        await ledger.WaitForEntriesAfterAsync(new Position(-1, -1)).AsTask().WaitAsync(Deadline);

        var waiting = ledger.WaitForEntriesAfterAsync(last).AsTask();
        Assert.False(waiting.IsCompleted);
        var next = await ledger.AddEntryAsync(Payload(1));
        await waiting.WaitAsync(Deadline);
        Assert.Equal(next, (await ledger.ReadEntriesAsync(ledger.GetNextPosition(last), 10)).Single().Position);

        using var cancel = new CancellationTokenSource();
        var cancelled = ledger.WaitForEntriesAfterAsync(next, cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Deadline));
    }

    [Fact]
    public async Task A_deleted_managed_ledger_is_gone_with_its_ledgers_and_cursors()
    {
        var name = NewName();
        await using var client = NewClient();
        var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 5));
        await AddAsync(ledger, 0, 12);
        await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
        var ledgerIds = ledger.Ledgers.Select(l => l.LedgerId).ToList();

        await ledger.DeleteAsync();

        Assert.False(await ManagedLedger.ExistsAsync(name, Metadata));
        Assert.Empty(await Metadata.ListChildrenAsync(StoredPaths.Cursors(name)));
        foreach (var id in ledgerIds)
            await Assert.ThrowsAsync<LedgerNotFoundException>(() => client.OpenLedgerAsync(id));
        await Assert.ThrowsAsync<ManagedLedgerClosedException>(async () => await ledger.AddEntryAsync(Payload(0)));
        await ledger.DisposeAsync();
    }

    [Fact]
    public async Task Dispose_waits_for_pending_adds_and_a_reopen_finds_every_one()
    {
        var name = NewName();
        await using var client = NewClient();
        var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 16));
        var adds = Enumerable.Range(0, 100).Select(i => ledger.AddEntryAsync(Payload(i)).AsTask()).ToList();

        await ledger.DisposeAsync();

        Assert.All(adds, a => Assert.True(a.IsCompletedSuccessfully));
        await Assert.ThrowsAsync<ManagedLedgerClosedException>(async () => await ledger.AddEntryAsync(Payload(100)));
        await using var reopened = await OpenAsync(name, client, createIfMissing: false);
        Assert.Equal(Enumerable.Range(0, 100), (await ReadAllAsync(reopened)).Select(MessageOf));
        Assert.All(reopened.Ledgers.SkipLast(1), l => Assert.False(l.IsOpen));
    }

    [Fact]
    public async Task Without_a_cache_the_open_ledger_is_read_from_the_bookies_up_to_its_last_confirmed_entry()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small() with { EntryCacheBytes = 0 });
        var positions = await AddAsync(ledger, 0, 12);

        Assert.Equal(0, ledger.Cache.Count);
        Assert.True(ledger.Ledgers[^1].IsOpen);
        Assert.Equal(Enumerable.Range(0, 12), (await ReadAllAsync(ledger)).Select(MessageOf));
        Assert.Equal([4, 5, 6], (await ledger.ReadEntriesAsync(positions[4], 3)).Select(MessageOf));
        await ledger.AddEntryAsync(Payload(12));
        Assert.Equal([11, 12], (await ledger.ReadEntriesAsync(positions[11], 5)).Select(MessageOf));
    }

    [Fact]
    public async Task Entries_read_from_the_bookies_are_cached_only_while_another_cursor_may_read_them()
    {
        await using var client = NewClient();
        // A mirrored ensemble: its ranges are read as streams (LedgerReader), closed ledgers and the open one alike.
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 5) with { EnsembleSize = 2, WriteQuorum = 2, AckQuorum = 2 });
        var positions = await AddAsync(ledger, 0, 12);
        var first = await ledger.OpenCursorAsync("first", InitialPosition.Earliest);

        // One cursor: a backlog read goes to the bookies and is not kept (no one else would take it).
        ledger.Cache.Clear();
        Assert.Equal(Enumerable.Range(0, 12), (await first.ReadEntriesAsync(100)).Select(MessageOf));
        Assert.Equal(0, ledger.Cache.Count);

        // Two: what one reads from the bookies waits in the cache for the other, which reads nothing from the bookies.
        var second = await ledger.OpenCursorAsync("second", InitialPosition.Earliest);
        first.Rewind();
        Assert.Equal(Enumerable.Range(0, 12), (await first.ReadEntriesAsync(100)).Select(MessageOf));
        Assert.Equal(12, ledger.Cache.Count);
        Assert.All(positions, p => Assert.True(ledger.Cache.TryGet(p, out _), $"{p} was not cached"));
        Assert.Equal(Enumerable.Range(0, 12), (await second.ReadEntriesAsync(100)).Select(MessageOf));
    }
}
