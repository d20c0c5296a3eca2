using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class BookieStorageTests
{
    private static byte[] Payload(long ledger, long entry) => System.Text.Encoding.UTF8.GetBytes($"ledger {ledger} entry {entry} " + new string('x', (int)(entry % 300)));

    private static Task<BookieStorage> OpenAsync(TempDirectory dir, long cacheBytes = 64L * 1024 * 1024, long maxEntryLogBytes = EntryLoggerOptions.DefaultMaxLogBytes) =>
        BookieStorage.OpenAsync(Path.Combine(dir.Path, "data"), Path.Combine(dir.Path, "journal"), cacheBytes, NullLogger.Instance, maxEntryLogBytes: maxEntryLogBytes);

    private static async Task AddAsync(BookieStorage storage, long ledger, long entry, bool recovery = false)
        => Assert.Equal(StorageResult.Ok, await storage.AddAsync(ledger, entry, entry - 1, (uint)entry, Payload(ledger, entry), recovery, CancellationToken.None));

    private static void AssertEntry(BookieStorage storage, long ledger, long entry)
    {
        var (result, stored) = storage.Read(ledger, entry);
        Assert.Equal(StorageResult.Ok, result);
        Assert.Equal(entry - 1, BookieRecord.LastAddConfirmed(stored));
        Assert.Equal((uint)entry, BookieRecord.Digest(stored));
        Assert.Equal(Payload(ledger, entry), BookieRecord.Payload(stored).ToArray());
    }

    [Fact]
    public async Task Entries_read_back_from_the_cache_from_the_entry_logs_and_after_a_restart()
    {
        using var dir = new TempDirectory();
        await using (var storage = await OpenAsync(dir))
        {
            for (long e = 0; e < 500; e++)
            {
                await AddAsync(storage, 1, e);
                await AddAsync(storage, 2, e);
            }
            AssertEntry(storage, 1, 499); // from the write cache
            await storage.FlushAsync(CancellationToken.None);
            AssertEntry(storage, 2, 0); // from the entry log
            for (long e = 500; e < 600; e++)
                await AddAsync(storage, 1, e); // only in the journal and the cache when we stop
            Assert.Equal((StorageResult.NoSuchEntry, (byte[]?)null), storage.Read(1, 600));
            Assert.Equal(StorageResult.NoSuchLedger, storage.Read(3, 0).Result);
        }

        await using (var storage = await OpenAsync(dir))
        {
            for (long e = 0; e < 600; e++)
                AssertEntry(storage, 1, e);
            for (long e = 0; e < 500; e++)
                AssertEntry(storage, 2, e);
            Assert.True(storage.TryGetLedger(1, out var lac, out var last, out var fenced));
            Assert.Equal((598, 599, false), (lac, last, fenced));
        }
    }

    [Fact]
    public async Task A_small_cache_flushes_under_load_and_loses_nothing()
    {
        using var dir = new TempDirectory();
        await using (var storage = await OpenAsync(dir, cacheBytes: 8L * 1024 * 1024))
        {
            var big = new byte[200_000];
            await Task.WhenAll(Enumerable.Range(0, 4).Select(l => Task.Run(async () =>
            {
                for (long e = 0; e < 60; e++) // 4 × 60 × 200 KB = 48 MB through an 8 MB cache
                    Assert.Equal(StorageResult.Ok, await storage.AddAsync(l, e, e - 1, 0, big, false, CancellationToken.None));
            })));
            for (var l = 0; l < 4; l++)
            {
                for (long e = 0; e < 60; e++)
                    Assert.Equal(big.Length + BookieRecord.EntryHeaderSize, storage.Read(l, e).StoredEntry!.Length);
            }
        }
        await using (var storage = await OpenAsync(dir, cacheBytes: 8L * 1024 * 1024))
            Assert.Equal(StorageResult.Ok, storage.Read(3, 59).Result);
    }

    [Fact]
    public async Task A_fenced_ledger_refuses_its_writer_but_not_recovery_even_after_a_restart()
    {
        using var dir = new TempDirectory();
        await using (var storage = await OpenAsync(dir))
        {
            await AddAsync(storage, 7, 0);
            await AddAsync(storage, 7, 1);
            var (lac, last) = await storage.FenceAsync(7, CancellationToken.None);
            Assert.Equal((0, 1), (lac, last));
            Assert.Equal(StorageResult.Fenced, await storage.AddAsync(7, 2, 1, 0, Payload(7, 2), recovery: false, CancellationToken.None));
            await AddAsync(storage, 7, 2, recovery: true);
        }
        await using (var storage = await OpenAsync(dir))
        {
            Assert.Equal(StorageResult.Fenced, await storage.AddAsync(7, 3, 2, 0, Payload(7, 3), recovery: false, CancellationToken.None));
            AssertEntry(storage, 7, 2);
        }
    }

    [Fact]
    public async Task A_lac_long_poll_returns_when_the_lac_moves_or_the_time_is_up()
    {
        using var dir = new TempDirectory();
        await using var storage = await OpenAsync(dir);
        await AddAsync(storage, 1, 0); // LAC -1
        var waiting = storage.WaitForLacAsync(1, -1, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        await AddAsync(storage, 1, 1); // carries LAC 0
        Assert.Equal(0, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await storage.WaitForLacAsync(1, 0, TimeSpan.FromMilliseconds(50), CancellationToken.None));
    }

    [Fact]
    public async Task A_read_only_bookie_refuses_adds_and_still_serves_reads()
    {
        using var dir = new TempDirectory();
        await using var storage = await OpenAsync(dir);
        await AddAsync(storage, 1, 0);
        storage.ReadOnly = true;
        Assert.Equal(StorageResult.ReadOnly, await storage.AddAsync(1, 1, 0, 0, Payload(1, 1), false, CancellationToken.None));
        AssertEntry(storage, 1, 0);
        Assert.Equal(StorageResult.NoSuchEntry, storage.Read(1, 1).Result);
    }

    [Fact]
    public async Task A_deleted_ledger_is_gone_after_a_restart()
    {
        using var dir = new TempDirectory();
        await using (var storage = await OpenAsync(dir))
        {
            await AddAsync(storage, 1, 0);
            await AddAsync(storage, 2, 0);
            await storage.FlushAsync(CancellationToken.None);
            await storage.DeleteLedgerAsync(1, CancellationToken.None);
            Assert.Equal(StorageResult.NoSuchLedger, storage.Read(1, 0).Result);
        }
        await using (var storage = await OpenAsync(dir))
        {
            Assert.Equal(StorageResult.NoSuchLedger, storage.Read(1, 0).Result);
            AssertEntry(storage, 2, 0);
        }
    }

    [Fact]
    public async Task Garbage_collection_reclaims_logs_of_deleted_ledgers_and_keeps_live_entries_readable()
    {
        using var dir = new TempDirectory();
        var logs = Path.Combine(dir.Path, "data", "entry-logs");
        const long SmallLogs = 64 * 1024;
        await using (var storage = await OpenAsync(dir, maxEntryLogBytes: SmallLogs))
        {
            var big = new byte[1000];
            for (long e = 0; e < 300; e++)
            {
                // Ledger 1 gets three entries for every one of ledger 2, interleaved in the same logs.
                for (var copy = 0; copy < 3; copy++)
                    Assert.Equal(StorageResult.Ok, await storage.AddAsync(1, e * 3 + copy, -1, 0, big, false, CancellationToken.None));
                await AddAsync(storage, 2, e);
            }
            await storage.FlushAsync(CancellationToken.None);
            var before = Directory.GetFiles(logs).Length;
            Assert.True(before > 5, $"expected many small logs, got {before}");
            Assert.Equal(0, await storage.CollectGarbageAsync(CancellationToken.None)); // everything is live

            await storage.DeleteLedgerAsync(1, CancellationToken.None);
            Assert.True(await storage.CollectGarbageAsync(CancellationToken.None) > 0);
            Assert.True(Directory.GetFiles(logs).Length < before, "no log file was deleted");
            for (long e = 0; e < 300; e++)
                AssertEntry(storage, 2, e);
        }
        await using (var storage = await OpenAsync(dir, maxEntryLogBytes: SmallLogs))
        {
            for (long e = 0; e < 300; e++)
                AssertEntry(storage, 2, e);
            Assert.Equal(StorageResult.NoSuchLedger, storage.Read(1, 0).Result);
        }
    }

    [Fact]
    public async Task A_flush_keeps_the_cache_until_the_journal_has_written_the_adds_it_reads_from_there()
    {
        // The journal frames an add from its write-cache copy: a flush that recycled the cache before
        // that would have the journal write whatever later adds put there instead.
        using var dir = new TempDirectory();
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = 1;
        var hooks = new JournalTestHooks
        {
            BeforeFlush = async () =>
            {
                if (Interlocked.Exchange(ref first, 0) == 1)
                {
                    holding.TrySetResult();
                    await held.Task;
                }
            },
        };
        await using (var storage = await BookieStorage.OpenAsync(Path.Combine(dir.Path, "data"), Path.Combine(dir.Path, "journal"),
            64L * 1024 * 1024, NullLogger.Instance, journalHooks: hooks))
        {
            var first0 = storage.AddAsync(1, 0, -1, 0, Payload(1, 0), false, CancellationToken.None).AsTask();
            await holding.Task.WaitAsync(TimeSpan.FromSeconds(10));
            // Queued behind the held group: the journal has not read it from the cache yet.
            var queued = storage.AddAsync(1, 1, 0, 1, Payload(1, 1), false, CancellationToken.None).AsTask();
            var flush = storage.FlushAsync(CancellationToken.None);
            await Task.WhenAny(flush, Task.Delay(TimeSpan.FromMilliseconds(500)));
            var flushedEarly = flush.IsCompleted;
            held.SetResult(); // before asserting: closing the storage waits for the journal
            Assert.False(flushedEarly, "the flush recycled the write cache while the journal still had to write entry 1:1 from it");
            await flush.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(StorageResult.Ok, await first0);
            Assert.Equal(StorageResult.Ok, await queued);
            AssertEntry(storage, 1, 1);
        }
        await using (var reopened = await OpenAsync(dir))
        {
            AssertEntry(reopened, 1, 0);
            AssertEntry(reopened, 1, 1);
        }
    }
}
