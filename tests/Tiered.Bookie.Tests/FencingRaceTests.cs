using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

/// <summary>
/// A fence answers with the last entry the bookie knows; recovery trusts that answer. An add that
/// passed the fence check but was still waiting (for room in the write cache, for the journal)
/// must then never be acknowledged: recovery may already have closed the ledger before it.
/// </summary>
public sealed class FencingRaceTests
{
    private const long Ledger = 9;

    [Fact]
    public async Task An_add_waiting_for_room_in_the_write_cache_is_not_acknowledged_after_a_fence_answer_that_left_it_out()
    {
        using var dir = new TempDirectory();
        // 8 MiB asked for: each half of the cache holds 16 MiB, i.e. 16 entries of 1,000,000 bytes.
        await using var storage = await BookieStorage.OpenAsync(Path.Combine(dir.Path, "data"), Path.Combine(dir.Path, "journal"),
            8L * 1024 * 1024, NullLogger.Instance);
        var flushes = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        storage.BeforeFlush = () => new ValueTask(flushes.Task);
        var payload = new byte[1_000_000];
        var fits = 2 * WriteCache.SegmentBytes / (payload.Length + BookieRecord.EntryHeaderSize); // 16
        for (long e = 0; e < fits; e++)
            Assert.Equal(StorageResult.Ok, await storage.AddAsync(Ledger, e, e - 1, 0, payload, recovery: false, CancellationToken.None));
        // The cache is full: this add passes the fence check, then waits for a flush that is held back.
        long entry = fits;
        var waiting = storage.AddAsync(Ledger, entry, entry - 1, 0, payload, recovery: false, CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        var (_, lastEntryId) = await storage.FenceAsync(Ledger, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        flushes.SetResult();
        var late = await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        // Either the fence answer counted the add, or the add is refused: never acknowledged behind the fence's back.
        Assert.True(late == StorageResult.Fenced || lastEntryId >= entry,
            $"entry {entry} was acknowledged ({late}) after the fence answered with last entry {lastEntryId}");
        Assert.Equal(StorageResult.Fenced, await storage.AddAsync(Ledger, entry + 1, entry - 1, 0, payload, recovery: false, CancellationToken.None));
    }

    [Fact]
    public async Task Adds_racing_a_fence_are_each_either_refused_or_counted_in_its_answer()
    {
        using var dir = new TempDirectory();
        await using var storage = await BookieStorage.OpenAsync(Path.Combine(dir.Path, "data"), Path.Combine(dir.Path, "journal"),
            64L * 1024 * 1024, NullLogger.Instance);
        var payload = new byte[100];
        for (var round = 0; round < 20; round++)
        {
            var ledger = 100 + round;
            var adds = Enumerable.Range(0, 200).Select(e => storage.AddAsync(ledger, e, e - 1, 0, payload, false, CancellationToken.None).AsTask()).ToList();
            var (_, last) = await storage.FenceAsync(ledger, CancellationToken.None);
            var results = await Task.WhenAll(adds);
            for (var e = 0; e < results.Length; e++)
                Assert.True(results[e] == StorageResult.Fenced || e <= last, $"round {round}: entry {e} acknowledged after a fence answer with last entry {last}");
        }
    }
}
