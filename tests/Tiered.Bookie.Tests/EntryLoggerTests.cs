using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class EntryLoggerTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Interleaved_entries_read_back_byte_for_byte_before_and_after_flush_and_after_reopening_logger_and_index()
    {
        var written = new List<(long Ledger, long Entry, byte[] Payload)>();
        var random = new Random(3);
        using (var logger = OpenLogger(writeBufferBytes: 16 << 10))
        using (var index = OpenIndex())
        {
            for (var entryId = 0L; entryId < 300; entryId++)
            {
                foreach (var ledgerId in new[] { 7L, 1L << 33, 12L })
                {
                    var payload = RandomPayload(random, random.Next(1, 3000));
                    index.Put(ledgerId, entryId, logger.Append(ledgerId, entryId, payload));
                    written.Add((ledgerId, entryId, payload));
                }
            }

            AssertAllReadBack(logger, index, written);
            logger.Flush();
            index.Flush();
            AssertAllReadBack(logger, index, written);
        }

        using (var logger = OpenLogger())
        using (var index = OpenIndex())
        {
            AssertAllReadBack(logger, index, written);
            Assert.Equal(written.Count, logger.LogIds.Sum(id => logger.Scan(id).Count()));
        }
    }

    [Fact]
    public void Logs_roll_over_before_passing_max_log_bytes_and_every_entry_stays_readable()
    {
        const long maxLogBytes = 4096;
        var locations = new List<(long Entry, EntryLocation Location, byte[] Payload)>();
        using (var logger = OpenLogger(maxLogBytes))
        {
            for (var entryId = 0L; entryId < 40; entryId++)
            {
                var payload = RandomPayload(new Random((int)entryId), 500);
                locations.Add((entryId, logger.Append(1, entryId, payload), payload));
            }

            logger.Flush();
            Assert.True(logger.LogIds.Count() >= 5, $"expected several logs, got {logger.LogIds.Count()}");
            Assert.Equal(logger.LogIds.Max(), logger.CurrentLogId);
            foreach (var (entryId, location, payload) in locations)
            {
                Assert.Equal(payload, logger.Read(location, 1, entryId));
            }
        }

        foreach (var file in Directory.GetFiles(_directory.Path, "*.log"))
        {
            Assert.Matches("^[0-9a-f]{16}\\.log$", Path.GetFileName(file));
            Assert.InRange(new FileInfo(file).Length, 1, maxLogBytes);
        }

        using var reopened = OpenLogger(maxLogBytes);
        Assert.Equal(locations.Select(l => l.Entry), reopened.LogIds.SelectMany(reopened.Scan).Select(e => e.EntryId));
    }

    [Fact]
    public void An_entry_larger_than_the_write_buffer_is_written_directly_and_reads_back()
    {
        using var logger = OpenLogger(writeBufferBytes: 4096);
        var small = RandomPayload(new Random(1), 100);
        var large = RandomPayload(new Random(2), 10_000);
        var smallLocation = logger.Append(1, 0, small);
        var largeLocation = logger.Append(1, 1, large);
        var afterLocation = logger.Append(1, 2, small);

        Assert.Equal(large, logger.Read(largeLocation, 1, 1));
        Assert.Equal(small, logger.Read(afterLocation, 1, 2));
        Assert.Equal(small, logger.Read(smallLocation, 1, 0));
        Assert.Equal(largeLocation.Offset + 20 + large.Length, afterLocation.Offset);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reading_with_the_wrong_ledger_or_entry_id_throws_InvalidDataException_naming_the_file(bool flushed)
    {
        using var logger = OpenLogger();
        var location = logger.Append(5, 9, [1, 2, 3]);
        if (flushed)
        {
            logger.Flush();
        }

        var wrongLedger = Assert.Throws<InvalidDataException>(() => logger.Read(location, 6, 9));
        var wrongEntry = Assert.Throws<InvalidDataException>(() => logger.Read(location, 5, 8));
        foreach (var error in new[] { wrongLedger, wrongEntry })
        {
            Assert.Contains(logger.LogPath(location.LogId), error.Message, StringComparison.Ordinal);
            Assert.Contains($"offset {location.Offset}", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(0x7FFF_FFFFu)]
    public void Reading_a_record_with_a_corrupted_length_throws_InvalidDataException_naming_the_file(uint corruptLength)
    {
        using var logger = OpenLogger();
        var location = logger.Append(5, 9, [1, 2, 3]);
        logger.Append(5, 10, [4, 5, 6]);
        logger.Flush();
        using (var file = new FileStream(logger.LogPath(location.LogId), FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            file.Position = location.Offset;
            file.Write(BitConverter.GetBytes(corruptLength));
        }

        var error = Assert.Throws<InvalidDataException>(() => logger.Read(location, 5, 9));
        Assert.Contains(logger.LogPath(location.LogId), error.Message, StringComparison.Ordinal);
        Assert.Contains("length", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_a_record_cut_short_by_the_end_of_the_file_throws_InvalidDataException()
    {
        EntryLocation location;
        string path;
        using (var logger = OpenLogger())
        {
            location = logger.Append(5, 9, new byte[100]);
            path = logger.LogPath(location.LogId);
        }

        using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(file.Length - 10);
        }

        using var reopened = OpenLogger();
        var logCount = reopened.LogIds.Count();
        var error = Assert.Throws<InvalidDataException>(() => reopened.Read(location, 5, 9));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Equal(1, logCount);
    }

    [Theory]
    [InlineData("partial-record")]
    [InlineData("partial-header")]
    [InlineData("zeros")]
    public void A_torn_tail_in_the_current_log_is_skipped_by_scan_and_appends_continue_after_the_last_good_entry(string tail)
    {
        var payloads = Enumerable.Range(0, 10).Select(i => RandomPayload(new Random(i), 200 + i)).ToArray();
        var locations = new EntryLocation[payloads.Length];
        string path;
        using (var logger = OpenLogger())
        {
            for (var i = 0; i < payloads.Length; i++)
            {
                locations[i] = logger.Append(3, i, payloads[i]);
            }

            path = logger.LogPath(logger.CurrentLogId);
        }

        var goodLength = new FileInfo(path).Length;
        using (var file = new FileStream(path, FileMode.Append))
        {
            byte[] garbage = tail switch
            {
                "partial-record" => [.. BitConverter.GetBytes(1000), .. BitConverter.GetBytes(3L), .. BitConverter.GetBytes(10L), 1, 2, 3],
                "partial-header" => [7, 0, 0, 0, 3],
                _ => new byte[4096],
            };
            file.Write(garbage);
        }

        using var reopened = OpenLogger();
        Assert.Equal(goodLength, new FileInfo(path).Length);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), reopened.Scan(reopened.CurrentLogId).Select(e => e.EntryId));

        var next = reopened.Append(3, 10, [42]);
        Assert.Equal(new EntryLocation(locations[0].LogId, goodLength), next);
        reopened.Flush();
        Assert.Equal(11, reopened.Scan(reopened.CurrentLogId).Count());
        Assert.Equal([42], reopened.Read(next, 3, 10));
        for (var i = 0; i < payloads.Length; i++)
        {
            Assert.Equal(payloads[i], reopened.Read(locations[i], 3, i));
        }
    }

    [Fact]
    public void Scan_of_the_current_log_covers_what_reached_the_file()
    {
        using var logger = OpenLogger();
        logger.Append(1, 0, [1]);
        Assert.Empty(logger.Scan(logger.CurrentLogId));
        logger.Flush();
        var entry = Assert.Single(logger.Scan(logger.CurrentLogId));
        Assert.Equal((1L, 0L, 1), (entry.LedgerId, entry.EntryId, entry.Length));
    }

    [Fact]
    public void Empty_entries_and_negative_ids_are_refused()
    {
        using var logger = OpenLogger();
        Assert.Throws<ArgumentException>(() => logger.Append(1, 0, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => logger.Append(-1, 0, [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => logger.Append(1, -1, [1]));
    }

    internal static byte[] RandomPayload(Random random, int length)
    {
        var payload = new byte[length];
        random.NextBytes(payload);
        return payload;
    }

    private static void AssertAllReadBack(EntryLogger logger, LedgerIndex index, List<(long Ledger, long Entry, byte[] Payload)> written)
    {
        foreach (var (ledgerId, entryId, payload) in written)
        {
            Assert.True(index.TryGet(ledgerId, entryId, out var location), $"ledger {ledgerId} entry {entryId} is not indexed");
            Assert.Equal(payload, logger.Read(location, ledgerId, entryId));
        }
    }

    private EntryLogger OpenLogger(long maxLogBytes = EntryLoggerOptions.DefaultMaxLogBytes, int writeBufferBytes = EntryLoggerOptions.DefaultWriteBufferBytes) =>
        new(new EntryLoggerOptions(Path.Combine(_directory.Path, "logs"), maxLogBytes, writeBufferBytes));

    private LedgerIndex OpenIndex() => LedgerIndex.Open(Path.Combine(_directory.Path, "index"));
}
