using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class JournalTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Appended_records_replay_byte_for_byte_in_order_across_a_file_rollover(bool preallocate)
    {
        var options = Options() with { MaxFileBytes = 4096, Preallocate = preallocate };
        var written = new List<(JournalPosition Position, byte[] Payload)>();
        await using (var journal = Journal.Open(options))
        {
            for (var i = 0; i < 100; i++)
            {
                var payload = Payload(i, 1 + (i * 37 % 300));
                written.Add((await journal.AppendAsync(payload), payload));
            }

            var concurrent = Enumerable.Range(100, 100).Select(i => Payload(i, 1 + (i * 37 % 300))).ToArray();
            var positions = await Task.WhenAll(concurrent.Select(p => journal.AppendAsync(p).AsTask()));
            written.AddRange(positions.Zip(concurrent));
        }

        written.Sort((a, b) => a.Position.CompareTo(b.Position));
        Assert.True(JournalFormat.ListFiles(_temp.Path).Count > 3, "the journal should have rolled over to several files");
        await using (var reopened = Journal.Open(options))
        {
            var replayed = ReadAll(reopened, JournalPosition.Start);
            Assert.Equal(written.Select(w => w.Position), replayed.Select(r => r.Position));
            Assert.Equal(written.Select(w => w.Payload), replayed.Select(r => r.Payload));
        }
    }

    [Fact]
    public async Task The_next_file_is_made_ahead_once_the_current_is_half_full_and_a_reopen_continues_in_it()
    {
        var options = Options() with { MaxFileBytes = 8192 };
        var written = new List<JournalPosition>();
        await using (var journal = Journal.Open(options))
        {
            // Each frame is 1,000 bytes and more: the fifth passes half of the first file.
            for (var i = 0; i < 5; i++)
                written.Add(await journal.AppendAsync(Payload(i, 1000)));
            Assert.All(written, p => Assert.Equal(1, p.FileId));
            await WaitForAsync(() => File.Exists(JournalFormat.FilePath(_temp.Path, 2)));
            Assert.Equal(new long[] { 1, 2 }, JournalFormat.ListFiles(_temp.Path));

            // A file holds 8 such frames: 8 to 15 fill file 2 past its half.
            for (var i = 5; i < 16; i++)
                written.Add(await journal.AppendAsync(Payload(i, 1000)));
            Assert.Equal(2, written[^1].FileId);
        }

        // Closed with file 3 made ahead and empty: the reopened journal appends there and replays everything.
        await WaitForAsync(() => File.Exists(JournalFormat.FilePath(_temp.Path, 3)));
        await using (var reopened = Journal.Open(options))
        {
            var next = await reopened.AppendAsync(Payload(16, 10));
            Assert.Equal(new JournalPosition(3, JournalFormat.HeaderSize), next);
            written.Add(next);
            Assert.Equal(written, ReadAll(reopened, JournalPosition.Start).Select(r => r.Position));
        }
    }

    [Fact]
    public async Task A_next_file_that_could_not_be_made_ahead_is_made_at_the_rollover()
    {
        var options = Options() with { MaxFileBytes = 8192 };
        await using var journal = Journal.Open(options);
        // What a failed attempt leaves behind: a file where file 2 goes, which makes creating it ahead fail too.
        var leftover = JournalFormat.FilePath(_temp.Path, 2);
        await File.WriteAllBytesAsync(leftover, [1, 2, 3]);
        var positions = new List<JournalPosition>();
        for (var i = 0; i < 12; i++)
            positions.Add(await journal.AppendAsync(Payload(i, 1000)));
        Assert.Equal(2, positions[^1].FileId);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => Payload(i, 1000)), ReadAll(journal, JournalPosition.Start).Select(r => r.Payload));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!condition())
            await Task.Delay(10, deadline.Token);
    }

    [Fact]
    public async Task Concurrent_appends_are_group_committed_with_far_fewer_fsyncs_than_records()
    {
        const int Appenders = 64;
        const int RecordsEach = 200;
        await using var journal = Journal.Open(Options());
        var acknowledged = await Task.WhenAll(Enumerable.Range(0, Appenders).Select(a => Task.Run(async () =>
        {
            var positions = new List<JournalPosition>(RecordsEach);
            for (var i = 0; i < RecordsEach; i++)
            {
                positions.Add(await journal.AppendAsync(Payload((a * RecordsEach) + i, 100)));
            }

            return positions;
        })));

        const int Records = Appenders * RecordsEach;
        Assert.Equal(Records, acknowledged.Sum(p => p.Count));
        Assert.Equal(Records, acknowledged.SelectMany(p => p).Distinct().Count());
        Assert.Equal(Records, journal.RecordsWritten);
        Assert.True(journal.Fsyncs < Records / 4, $"{journal.Fsyncs} fsyncs for {Records} records");
        Assert.Equal(Records, ReadAll(journal, JournalPosition.Start).Count);
    }

    [Fact]
    public async Task An_append_does_not_complete_before_its_group_is_flushed_to_disk()
    {
        var gate = new FlushGate();
        var hooks = gate.Hooks;
        await using var journal = Journal.Open(Options() with { MaxGroupWait = TimeSpan.Zero }, hooks);

        var append = journal.AppendAsync(Payload(1, 10)).AsTask();
        await gate.Reached.WaitAsync(Deadline);

        Assert.False(append.IsCompleted, "the append completed before its fsync");
        Assert.Equal(0, journal.Fsyncs);
        gate.Open();
        var position = await append.WaitAsync(Deadline);
        Assert.Equal(1, journal.Fsyncs);
        Assert.Equal(new JournalPosition(1, JournalFormat.HeaderSize), position);
    }

    [Theory]
    [InlineData("cut inside the last payload")]
    [InlineData("cut inside the last frame header")]
    [InlineData("garbage after the last record")]
    [InlineData("zeros after the last record")]
    public async Task A_torn_tail_replays_every_complete_record_and_appends_continue_after_them(string damage)
    {
        var options = Options();
        var payloads = Enumerable.Range(0, 10).Select(i => Payload(i, 50 + i)).ToList();
        await AppendAllAsync(options, payloads);
        var path = NewestFile();
        var length = new FileInfo(path).Length;
        var lastFrame = JournalFormat.FrameHeaderSize + payloads[^1].Length;
        var keep = payloads.Count;
        switch (damage)
        {
            case "cut inside the last payload":
                Truncate(path, length - 3);
                keep--;
                break;
            case "cut inside the last frame header":
                Truncate(path, length - lastFrame + 5);
                keep--;
                break;
            case "garbage after the last record":
                AppendBytes(path, [0x13, 0x00, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3]);
                break;
            default:
                AppendBytes(path, new byte[4096]);
                break;
        }

        await using (var reopened = Journal.Open(options))
        {
            Assert.Equal(payloads.Take(keep), ReadAll(reopened, JournalPosition.Start).Select(r => r.Payload));
            Assert.True(reopened.TruncatedTailBytes > 0);
            Assert.NotNull(reopened.TruncatedTailReason);
            foreach (var payload in new[] { Payload(100, 7), Payload(101, 70) })
            {
                await reopened.AppendAsync(payload);
            }
        }

        await using (var again = Journal.Open(options))
        {
            var expected = payloads.Take(keep).Append(Payload(100, 7)).Append(Payload(101, 70));
            Assert.Equal(expected, ReadAll(again, JournalPosition.Start).Select(r => r.Payload));
            Assert.Equal(0, again.TruncatedTailBytes);
        }
    }

    [Fact]
    public async Task A_newest_file_torn_while_its_header_was_written_is_reused_and_earlier_files_replay()
    {
        var options = Options();
        var payloads = Enumerable.Range(0, 3).Select(i => Payload(i, 40)).ToList();
        await AppendAllAsync(options, payloads);
        File.WriteAllBytes(JournalFormat.FilePath(_temp.Path, 2), [0x54, 0x4A, 0x4E]);

        await using (var reopened = Journal.Open(options))
        {
            Assert.Equal(payloads, ReadAll(reopened, JournalPosition.Start).Select(r => r.Payload));
            Assert.Equal(new JournalPosition(2, JournalFormat.HeaderSize), await reopened.AppendAsync(Payload(9, 5)));
        }

        await using var again = Journal.Open(options);
        Assert.Equal(payloads.Append(Payload(9, 5)), ReadAll(again, JournalPosition.Start).Select(r => r.Payload));
    }

    [Fact]
    public async Task A_flipped_byte_in_the_last_record_drops_that_record_and_keeps_the_earlier_ones()
    {
        var options = Options();
        var payloads = Enumerable.Range(0, 5).Select(i => Payload(i, 100)).ToList();
        await AppendAllAsync(options, payloads);
        var path = NewestFile();
        FlipByte(path, new FileInfo(path).Length - 50);

        await using var reopened = Journal.Open(options);
        Assert.Equal(payloads.Take(4), ReadAll(reopened, JournalPosition.Start).Select(r => r.Payload));
        Assert.Contains("checksum", reopened.TruncatedTailReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flipped_byte_in_an_older_file_is_an_error_naming_the_file_and_offset()
    {
        var options = Options() with { MaxFileBytes = 4096 };
        var payloads = Enumerable.Range(0, 100).Select(i => Payload(i, 200)).ToList();
        await AppendAllAsync(options, payloads);
        var first = JournalFormat.FilePath(_temp.Path, 1);
        var corruptFrame = JournalFormat.HeaderSize + (3 * (JournalFormat.FrameHeaderSize + 200));
        FlipByte(first, corruptFrame + JournalFormat.FrameHeaderSize + 10);

        await using var reopened = Journal.Open(options);
        var error = Assert.Throws<InvalidDataException>(() => ReadAll(reopened, JournalPosition.Start));
        Assert.Contains(JournalFormat.FileName(1), error.Message, StringComparison.Ordinal);
        Assert.Contains($"offset {corruptFrame}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checkpoint_deletes_only_whole_files_before_the_position_and_replay_from_it_returns_the_rest()
    {
        var options = Options() with { MaxFileBytes = 4096 };
        await using var journal = Journal.Open(options);
        var positions = new List<JournalPosition>();
        for (var i = 0; i < 100; i++)
        {
            positions.Add(await journal.AppendAsync(Payload(i, 200)));
        }

        var checkpoint = positions[50];
        Assert.True(checkpoint.Offset > JournalFormat.HeaderSize, "the checkpoint should fall inside a file");
        var filesBefore = JournalFormat.ListFiles(_temp.Path);

        var deleted = journal.Checkpoint(checkpoint);

        var filesAfter = JournalFormat.ListFiles(_temp.Path);
        Assert.Equal(filesBefore.Where(id => id >= checkpoint.FileId), filesAfter);
        Assert.Equal(filesBefore.Count - filesAfter.Count, deleted);
        Assert.True(deleted > 0);
        var replayed = ReadAll(journal, checkpoint);
        Assert.Equal(positions.Skip(50), replayed.Select(r => r.Position));
        Assert.Equal(Enumerable.Range(50, 50).Select(i => Payload(i, 200)), replayed.Select(r => r.Payload));
    }

    [Fact]
    public async Task Checkpoint_deletes_a_file_larger_than_its_deletion_step()
    {
        var options = Options() with { MaxFileBytes = Journal.DeleteStepBytes + (4 << 20) };
        await using var journal = Journal.Open(options);
        var record = new byte[1 << 20];
        JournalPosition last;
        do
            last = await journal.AppendAsync(record);
        while (last.FileId == 1);
        Assert.True(new FileInfo(JournalFormat.FilePath(_temp.Path, 1)).Length > Journal.DeleteStepBytes);

        Assert.Equal(1, journal.Checkpoint(last));

        Assert.False(File.Exists(JournalFormat.FilePath(_temp.Path, 1)));
        Assert.Equal(2, JournalFormat.ListFiles(_temp.Path)[0]);
    }

    [Fact]
    public async Task Checkpoint_never_deletes_the_file_being_written()
    {
        await using var journal = Journal.Open(Options());
        var position = await journal.AppendAsync(Payload(1, 10));

        Assert.Equal(0, journal.Checkpoint(new JournalPosition(position.FileId + 5, 0)));
        Assert.Single(ReadAll(journal, JournalPosition.Start));
    }

    [Fact]
    public async Task Empty_and_oversized_records_are_rejected_and_nothing_is_written()
    {
        await using var journal = Journal.Open(Options());

        var empty = await Assert.ThrowsAsync<ArgumentException>(async () => await journal.AppendAsync(ReadOnlyMemory<byte>.Empty));
        Assert.Contains("empty", empty.Message, StringComparison.Ordinal);
        var tooBig = await Assert.ThrowsAsync<ArgumentException>(
            async () => await journal.AppendAsync(new byte[JournalOptions.MaxRecordBytes + 1]));
        Assert.Contains($"{JournalOptions.MaxRecordBytes + 1} bytes", tooBig.Message, StringComparison.Ordinal);

        Assert.Equal(0, journal.RecordsWritten);
        Assert.Equal(0, journal.BytesWritten);
        Assert.Empty(ReadAll(journal, JournalPosition.Start));
        Assert.Equal(JournalFormat.HeaderSize, new FileInfo(NewestFile()).Length);
    }

    [Fact]
    public async Task The_largest_record_is_accepted_and_replays()
    {
        await using var journal = Journal.Open(Options());
        var payload = Payload(7, JournalOptions.MaxRecordBytes);

        await journal.AppendAsync(payload);

        Assert.Equal(payload, Assert.Single(ReadAll(journal, JournalPosition.Start)).Payload);
    }

    [Fact]
    public async Task After_a_write_failure_pending_and_later_appends_fail_and_nothing_is_reported_durable()
    {
        var failWrites = 0;
        var hooks = new JournalTestHooks
        {
            BeforeWrite = () =>
            {
                if (Volatile.Read(ref failWrites) != 0)
                {
                    throw new IOException("No space left on device");
                }
            },
        };
        var options = Options();
        await using (var journal = Journal.Open(options, hooks))
        {
            await journal.AppendAsync(Payload(0, 10));
            Volatile.Write(ref failWrites, 1);

            // An append made once the failed write has marked the journal unusable throws at once; either way its task fails.
            async Task Append(int i) => await journal.AppendAsync(Payload(i, 10));
            var pending = Enumerable.Range(1, 20).Select(Append).ToArray();
            foreach (var append in pending)
            {
                var error = await Assert.ThrowsAsync<IOException>(() => append.WaitAsync(Deadline));
                Assert.Contains("unusable", error.Message, StringComparison.Ordinal);
                Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
            }

            var later = await Assert.ThrowsAsync<IOException>(() => journal.AppendAsync(Payload(99, 10)).AsTask());
            Assert.Contains("unusable", later.Message, StringComparison.Ordinal);
            Assert.Equal(1, journal.RecordsWritten);
        }

        await using var reopened = Journal.Open(options);
        Assert.Equal([Payload(0, 10)], ReadAll(reopened, JournalPosition.Start).Select(r => r.Payload));
    }

    [Fact]
    public async Task Appends_wait_while_the_queue_holds_its_capacity_in_bytes()
    {
        var gate = new FlushGate();
        var hooks = gate.Hooks;
        var options = Options() with { MaxGroupWait = TimeSpan.Zero, FlushThresholdBytes = 1024, QueueCapacityBytes = 1024 };
        await using var journal = Journal.Open(options, hooks);

        var first = journal.AppendAsync(Payload(1, 600)).AsTask();
        await gate.Reached.WaitAsync(Deadline);
        var second = journal.AppendAsync(Payload(2, 600)).AsTask();

        Assert.False(second.IsCompleted);
        Assert.Equal(JournalFormat.FrameHeaderSize + 600, journal.QueuedBytes);
        gate.Open();
        await Task.WhenAll(first, second).WaitAsync(Deadline);
        Assert.Equal(2, journal.RecordsWritten);
    }

    [Fact]
    public async Task Dispose_writes_and_acknowledges_every_queued_record()
    {
        var options = Options() with { MaxGroupWait = TimeSpan.FromSeconds(1) };
        var journal = Journal.Open(options);
        var appends = Enumerable.Range(0, 50).Select(i => journal.AppendAsync(Payload(i, 30)).AsTask()).ToArray();

        await journal.DisposeAsync();

        await using (var reopened = Journal.Open(options))
        {
            Assert.Equal(50, ReadAll(reopened, JournalPosition.Start).Count);
        }

        var positions = await Task.WhenAll(appends).WaitAsync(Deadline);
        Assert.Equal(50, positions.Distinct().Count());
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await journal.AppendAsync(Payload(1, 1)));
    }

    [Fact]
    public async Task A_direct_journal_writes_whole_blocks_and_replays_every_record_across_groups_rollovers_and_reopens()
    {
        var options = Options() with { WriteDirectly = true, MaxFileBytes = 64 * 1024 };
        var written = new List<(JournalPosition Position, byte[] Payload)>();
        await using (var journal = Journal.Open(options))
        {
            if (OperatingSystem.IsLinux())
            {
                Assert.True(journal.WritesDirectly, "the journal on Linux writes with O_DIRECT");
            }

            // One record per group: each write rewrites the file's partial block and pads it with zeros.
            for (var i = 0; i < 60; i++)
            {
                var payload = Payload(i, 1 + (i * 211 % 3000));
                var position = await journal.AppendAsync(payload);
                written.Add((position, payload));
                if (journal.WritesDirectly)
                {
                    Assert.Equal(0, new FileInfo(JournalFormat.FilePath(_temp.Path, position.FileId)).Length % DirectIo.BlockSize);
                }
            }

            var concurrent = Enumerable.Range(60, 100).Select(i => Payload(i, 1 + (i * 211 % 3000))).ToArray();
            written.AddRange((await Task.WhenAll(concurrent.Select(p => journal.AppendAsync(p).AsTask()))).Zip(concurrent));
        }

        written.Sort((a, b) => a.Position.CompareTo(b.Position));
        Assert.True(JournalFormat.ListFiles(_temp.Path).Count > 2, "the journal should have rolled over");
        await using (var reopened = Journal.Open(options))
        {
            Assert.Equal(written, ReadAll(reopened, JournalPosition.Start), PositionAndPayload.Instance);
            Assert.Null(reopened.TruncatedTailReason);
            foreach (var i in new[] { 500, 501 })
            {
                var payload = Payload(i, 777);
                written.Add((await reopened.AppendAsync(payload), payload));
            }
        }

        await using var again = Journal.Open(options);
        Assert.Equal(written, ReadAll(again, JournalPosition.Start), PositionAndPayload.Instance);
    }

    [Fact]
    public async Task A_torn_direct_write_loses_only_the_record_it_cut_and_appends_continue()
    {
        var options = Options() with { WriteDirectly = true };
        var payloads = Enumerable.Range(0, 8).Select(i => Payload(i, 300 + i)).ToList();
        JournalPosition last;
        await using (var journal = Journal.Open(options))
        {
            last = default;
            foreach (var payload in payloads)
            {
                last = await journal.AppendAsync(payload);
            }
        }

        // Only part of the last block reached the disk: the end of the last record reads as zeros.
        var lastEnd = last.Offset + JournalFormat.FrameHeaderSize + payloads[^1].Length;
        using (var stream = new FileStream(NewestFile(), FileMode.Open, FileAccess.Write))
        {
            stream.Position = lastEnd - 100;
            stream.Write(new byte[100]);
        }

        await using (var reopened = Journal.Open(options))
        {
            Assert.Equal(payloads.Take(7), ReadAll(reopened, JournalPosition.Start).Select(r => r.Payload));
            Assert.Contains("checksum", reopened.TruncatedTailReason, StringComparison.Ordinal);
            await reopened.AppendAsync(Payload(100, 50));
        }

        await using var again = Journal.Open(options);
        Assert.Equal(payloads.Take(7).Append(Payload(100, 50)), ReadAll(again, JournalPosition.Start).Select(r => r.Payload));
    }

    [Fact]
    public async Task Zeros_of_a_block_or_more_after_the_records_of_an_older_file_are_still_corruption()
    {
        var options = Options() with { MaxFileBytes = 4096 };
        await AppendAllAsync(options, Enumerable.Range(0, 30).Select(i => Payload(i, 300)));
        var first = JournalFormat.FilePath(_temp.Path, 1);
        var records = new FileInfo(first).Length;
        AppendBytes(first, new byte[DirectIo.BlockSize - 1]);
        await using (var padded = Journal.Open(options))
        {
            Assert.Equal(30, ReadAll(padded, JournalPosition.Start).Count);
        }

        AppendBytes(first, new byte[1]);
        await using var zeroed = Journal.Open(options);
        var error = Assert.Throws<InvalidDataException>(() => ReadAll(zeroed, JournalPosition.Start));
        Assert.Contains($"offset {records}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_creates_the_directory_and_rejects_bad_options_with_a_clear_message()
    {
        var directory = Path.Combine(_temp.Path, "a", "journal");
        await Journal.Open(Options() with { Directory = directory }).DisposeAsync();
        Assert.True(File.Exists(JournalFormat.FilePath(directory, 1)));

        var tinyFile = Assert.Throws<ArgumentException>(() => Journal.Open(Options() with { MaxFileBytes = 100 }));
        Assert.Contains("MaxFileBytes", tinyFile.Message, StringComparison.Ordinal);
        var negativeWait = Assert.Throws<ArgumentException>(
            () => Journal.Open(Options() with { MaxGroupWait = TimeSpan.FromMilliseconds(-1) }));
        Assert.Contains("MaxGroupWait", negativeWait.Message, StringComparison.Ordinal);
        var smallQueue = Assert.Throws<ArgumentException>(
            () => Journal.Open(Options() with { QueueCapacityBytes = 10, FlushThresholdBytes = 100 }));
        Assert.Contains("QueueCapacityBytes", smallQueue.Message, StringComparison.Ordinal);
    }

    private JournalOptions Options() => new(_temp.Path) { Preallocate = false, WriteDirectly = false };

    private string NewestFile() => JournalFormat.FilePath(_temp.Path, JournalFormat.ListFiles(_temp.Path)[^1]);

    private static async Task AppendAllAsync(JournalOptions options, IEnumerable<byte[]> payloads)
    {
        await using var journal = Journal.Open(options);
        foreach (var payload in payloads)
        {
            await journal.AppendAsync(payload);
        }
    }

    private static List<(JournalPosition Position, byte[] Payload)> ReadAll(Journal journal, JournalPosition from)
        => journal.Replay(from).Select(r => (r.Position, r.Payload.ToArray())).ToList();

    private static byte[] Payload(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static void Truncate(string path, long length)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    private static void AppendBytes(string path, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write);
        stream.Write(bytes);
    }

    private static void FlipByte(string path, long offset)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0x5A));
    }

    private sealed class PositionAndPayload : IEqualityComparer<(JournalPosition Position, byte[] Payload)>
    {
        public static readonly PositionAndPayload Instance = new();

        public bool Equals((JournalPosition Position, byte[] Payload) x, (JournalPosition Position, byte[] Payload) y)
            => x.Position == y.Position && x.Payload.AsSpan().SequenceEqual(y.Payload);

        public int GetHashCode((JournalPosition Position, byte[] Payload) obj) => obj.Position.GetHashCode();
    }

    /// <summary>Holds the journal's writer at its fsync until <see cref="Open"/> is called.</summary>
    private sealed class FlushGate
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public FlushGate() => Hooks = new JournalTestHooks
        {
            BeforeFlush = async () =>
            {
                _reached.TrySetResult();
                await _open.Task;
            },
        };

        public JournalTestHooks Hooks { get; }

        /// <summary>Completes when the writer has reached the fsync of a group.</summary>
        public Task Reached => _reached.Task;

        public void Open() => _open.SetResult();
    }
}
