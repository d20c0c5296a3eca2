using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class EntryLogCompactionTests : IDisposable
{
    private const long LiveLedger = 1;
    private const long DeletedLedger = 2;
    private const long OtherLiveLedger = 1L << 40;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Compaction_moves_only_live_entries_reports_their_new_locations_and_deletes_the_old_log()
    {
        using var logger = new EntryLogger(new EntryLoggerOptions(Path.Combine(_directory.Path, "logs"), MaxLogBytes: 64 << 10));
        using var index = LedgerIndex.Open(Path.Combine(_directory.Path, "index"));
        var payloads = new Dictionary<(long, long), byte[]>();
        var random = new Random(11);
        for (var entryId = 0L; entryId < 60; entryId++)
        {
            foreach (var ledgerId in new[] { LiveLedger, DeletedLedger, OtherLiveLedger })
            {
                var payload = EntryLoggerTests.RandomPayload(random, 700);
                payloads[(ledgerId, entryId)] = payload;
                index.Put(ledgerId, entryId, logger.Append(ledgerId, entryId, payload));
            }
        }

        logger.Flush();
        var oldest = logger.LogIds.Min();
        Assert.NotEqual(oldest, logger.CurrentLogId);
        var before = logger.Scan(oldest).ToList();
        var usage = logger.Usage(oldest);
        Assert.Equal(before.Sum(e => e.RecordBytes), usage.TotalBytes);
        Assert.Equal(2.0 / 3, usage.LiveFraction(ledger => ledger != DeletedLedger), 2);
        index.DeleteLedger(DeletedLedger);

        var events = new List<string>();
        var relocations = new List<(long Ledger, long Entry, EntryLocation Location)>();
        var result = logger.Compact(
            oldest,
            ledger => ledger != DeletedLedger,
            (ledgerId, entryId, location) =>
            {
                events.Add("relocated");
                relocations.Add((ledgerId, entryId, location));
                index.Put(ledgerId, entryId, location);
            },
            () =>
            {
                events.Add("durable");
                index.Flush();
            });

        var expectedMoved = before.Where(e => e.LedgerId != DeletedLedger).ToList();
        Assert.Equal(expectedMoved.Select(e => (e.LedgerId, e.EntryId)), relocations.Select(r => (r.Ledger, r.Entry)));
        Assert.Equal("durable", events[^1]);
        Assert.Equal(relocations.Count, events.Count - 1);
        Assert.Equal(expectedMoved.Count, result.EntriesMoved);
        Assert.Equal(before.Count - expectedMoved.Count, result.EntriesDropped);
        Assert.False(File.Exists(logger.LogPath(oldest)));
        Assert.DoesNotContain(oldest, logger.LogIds);
        Assert.Throws<FileNotFoundException>(() => logger.Read(before[0].Location, before[0].LedgerId, before[0].EntryId));

        foreach (var (ledgerId, entryId, location) in relocations)
        {
            Assert.NotEqual(oldest, location.LogId);
            Assert.Equal(payloads[(ledgerId, entryId)], logger.Read(location, ledgerId, entryId));
        }

        foreach (var ((ledgerId, entryId), payload) in payloads)
        {
            if (ledgerId == DeletedLedger)
            {
                Assert.False(index.TryGet(ledgerId, entryId, out _));
                continue;
            }

            Assert.True(index.TryGet(ledgerId, entryId, out var location));
            Assert.Equal(payload, logger.Read(location, ledgerId, entryId));
        }
    }

    [Fact]
    public void Compacting_the_current_log_is_refused()
    {
        using var logger = new EntryLogger(new EntryLoggerOptions(_directory.Path));
        logger.Append(1, 0, [1]);
        Assert.Throws<InvalidOperationException>(() => logger.Compact(logger.CurrentLogId, _ => false, (_, _, _) => { }, () => { }));
        Assert.Throws<InvalidOperationException>(() => logger.DeleteLog(logger.CurrentLogId));
    }

    [Fact]
    public void A_log_damaged_part_way_is_not_deleted_by_compaction()
    {
        using var logger = new EntryLogger(new EntryLoggerOptions(_directory.Path, MaxLogBytes: 4096));
        var first = logger.Append(1, 0, new byte[1000]);
        logger.Append(1, 1, new byte[1000]);
        logger.Append(1, 2, new byte[1000]);
        while (logger.CurrentLogId == first.LogId)
        {
            logger.Append(1, 3, new byte[1000]);
        }

        var second = logger.Scan(first.LogId).ElementAt(1).Location;
        using (var file = new FileStream(logger.LogPath(first.LogId), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = second.Offset;
            file.Write(new byte[4]);
        }

        var moved = new List<long>();
        Assert.Throws<InvalidDataException>(() => logger.Compact(first.LogId, _ => true, (_, entryId, _) => moved.Add(entryId), () => { }));
        Assert.Equal([0L], moved);
        Assert.True(File.Exists(logger.LogPath(first.LogId)));
    }
}
