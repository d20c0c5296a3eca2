using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie.Storage;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using Tiered.Testing;

namespace Tiered.Bookie.Tests;

/// <summary>A bookie whose journal can no longer write (its disk filled) must stop being chosen for new ledgers.</summary>
public sealed class JournalFailureTests
{
    [Fact]
    public async Task A_bookie_whose_journal_fails_leaves_the_available_bookies_at_once_and_stays_read_only()
    {
        await using var metadata = await LocalMetadata.StartAsync();
        var diskFull = 0;
        var hooks = new JournalTestHooks
        {
            BeforeWrite = () =>
            {
                if (Volatile.Read(ref diskFull) == 1)
                    throw new IOException("No space left on device");
            },
        };
        var options = new BookieOptions
        {
            Listen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            DataDir = Path.Combine(metadata.Root, "bookie"),
            Metadata = [metadata.ClientAddress],
            AutoRecovery = false,
            JournalPreallocationBytes = 0,
        };
        await using var bookie = await BookieServer.StartAsync(options, NullLoggerFactory.Instance, metadata.Store, hooks);
        var client = new Tiered.Bookie.V1.Bookie.BookieClient(bookie.LocalInvoker);
        Assert.Equal([options.BookieId], await metadata.Store.ListChildrenAsync(BookiePaths.Available));
        Assert.Equal(Code.Ok, (await AddAsync(client, 0)).Code);

        Volatile.Write(ref diskFull, 1);
        var refused = await AddAsync(client, 1);
        Assert.Equal(Code.Internal, refused.Code);
        Assert.Contains("unusable", refused.Message);

        // At once: not at the next disk check, and not only after a restart.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await metadata.Store.ListChildrenAsync(BookiePaths.Available)).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the bookie is still registered as available 10 s after its journal failed");
            await Task.Delay(20);
        }
        Assert.Equal([options.BookieId], await metadata.Store.ListChildrenAsync(BookiePaths.ReadOnly));
        Assert.Equal(Code.ReadOnly, (await AddAsync(client, 2)).Code);
        Assert.Equal("read-only", (await client.InfoAsync(new InfoRequest())).State);
        // Reads are still served.
        var read = await client.ReadEntryAsync(new ReadRequest { LedgerId = 1, EntryId = 0 });
        Assert.Equal(Code.Ok, read.Code);
    }

    [Fact]
    public void A_failed_journal_keeps_the_bookie_read_only_whatever_the_disk_usage()
    {
        var options = new BookieOptions();
        Assert.True(BookieHost.ShouldBeReadOnly(readOnlyNow: true, diskUsage: 0.10, journalUnusable: true, options));
        Assert.True(BookieHost.ShouldBeReadOnly(readOnlyNow: false, diskUsage: 0.10, journalUnusable: true, options));
        Assert.False(BookieHost.ShouldBeReadOnly(readOnlyNow: true, diskUsage: 0.10, journalUnusable: false, options));
        Assert.True(BookieHost.ShouldBeReadOnly(readOnlyNow: true, diskUsage: 0.92, journalUnusable: false, options));
        Assert.False(BookieHost.ShouldBeReadOnly(readOnlyNow: false, diskUsage: 0.92, journalUnusable: false, options));
    }

    [Theory]
    [InlineData(-1L)]
    [InlineData(BookieOptions.MaxJournalPreallocationBytes + 1)]
    public void A_journal_preallocation_out_of_range_is_refused_with_the_flag_named(long bytes)
    {
        var error = Assert.Throws<ArgumentException>(() => new BookieOptions { JournalPreallocationBytes = bytes }.Validate());
        Assert.Contains("--journal-preallocation-mb", error.Message);
    }

    [Fact]
    public async Task The_journal_reserves_only_the_configured_space_for_a_new_file()
    {
        using var dir = new TempDirectory();
        await using (Journal.Open(new JournalOptions(Path.Combine(dir.Path, "none")) { PreallocationBytes = 0 }))
        {
        }
        await using (Journal.Open(new JournalOptions(Path.Combine(dir.Path, "some")) { PreallocationBytes = 8L * 1024 * 1024 }))
        {
        }
        Assert.True(AllocatedBytes(Path.Combine(dir.Path, "none")) < 1024 * 1024);
        Assert.InRange(AllocatedBytes(Path.Combine(dir.Path, "some")), 8L * 1024 * 1024, 9L * 1024 * 1024);
    }

    private static long AllocatedBytes(string directory)
    {
        // Blocks allocated on disk (what fallocate reserved), not the file's length.
        var (exit, bytes) = Stat(Directory.GetFiles(directory).Single());
        Assert.Equal(0, exit);
        return bytes;
    }

    private static (int Exit, long Bytes) Stat(string file)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b %B", file]) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd().Split(' ');
        process.WaitForExit();
        return (process.ExitCode, long.Parse(output[0]) * long.Parse(output[1]));
    }

    private static async Task<AddResponse> AddAsync(Tiered.Bookie.V1.Bookie.BookieClient client, long entryId)
    {
        var payload = new byte[] { 1, 2, 3 };
        using var call = client.AddEntries();
        await call.RequestStream.WriteAsync(new AddRequest
        {
            LedgerId = 1,
            EntryId = entryId,
            LastAddConfirmed = entryId - 1,
            Payload = ByteString.CopyFrom(payload),
            Digest = LedgerDigest.Compute(1, entryId, entryId - 1, payload),
        });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }
}
