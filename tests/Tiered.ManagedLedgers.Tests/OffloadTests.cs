using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Ledger;
using Tiered.Offloader;
using Tiered.Offloader.Stored;
using Tiered.Offloader.Stores;
using Tiered.Testing;

namespace Tiered.ManagedLedgers.Tests;

/// <summary>Offload of closed ledgers to a filesystem object store, with real bookies: what is read back, and when the bookie copy goes.</summary>
[Collection(ClusterCollection.Name)]
public sealed class OffloadTests(ClusterFixture fixture) : ManagedLedgerTestBase(fixture), IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("tiered-offload-test-");

    private string StoreDirectory => Path.Combine(_root.FullName, "store");

    private TieredStorage NewStorage() => new(new TieredStorageOptions
    {
        SpoolDirectory = Path.Combine(_root.FullName, "spool"),
        Parquet = new Offloader.Parquet.ParquetLedgerOptions { MaxRowGroupBytes = 4096 },
    }, NullLoggerFactory.Instance);

    private StoreAddress Target => TieredStorage.AddressOf(new ObjectStoreSettings { Driver = ObjectStores.FileSystemDriver, Directory = StoreDirectory });

    [Fact]
    public async Task Offloaded_ledgers_read_back_byte_for_byte_once_the_bookie_copies_are_deleted()
    {
        var name = NewName();
        using var storage = NewStorage();
        var options = Small(entriesPerLedger: 40);
        await using var client = NewClient();
        List<ManagedEntry> before;
        List<long> closed;
        await using (var ledger = await OpenAsync(name, client, options, tieredStorage: storage))
        {
            var cursor = await ledger.OpenCursorAsync("sub", InitialPosition.Earliest);
            var positions = await AddAsync(ledger, 0, 130);
            before = await ReadAllAsync(ledger);
            closed = [.. ledger.Ledgers.Where(l => !l.IsOpen).Select(l => l.LedgerId)];
            Assert.Equal(3, closed.Count);

            var outcome = await ledger.OffloadAsync(positions[^1], Target);
            Assert.Equal(3, outcome.LedgersOffloaded);
            Assert.Equal(before.Take(120).Sum(e => (long)e.Data.Length), outcome.BytesOffloaded);
            Assert.Equal(new Position(ledger.Ledgers[^1].LedgerId, 0), outcome.FirstUnoffloaded);
            Assert.All(ledger.Ledgers.Where(l => !l.IsOpen), l => Assert.True(l.Offloaded && !l.BookieDeleted && l.OffloadLocation!.StartsWith("file://", StringComparison.Ordinal)));

            // Offloading again finds nothing to do.
            Assert.Equal(0, (await ledger.OffloadAsync(positions[^1], Target)).LedgersOffloaded);

            Assert.Equal(3, await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.Zero));
            foreach (var ledgerId in closed)
                await Assert.ThrowsAsync<LedgerNotFoundException>(() => client.OpenLedgerAsync(ledgerId));
            AssertSameEntries(before, await ReadAllAsync(ledger));
            AssertSameEntries(before, await DrainAsync(cursor));
        }

        // Another owner finds the offload in the stored ledger list.
        await using var reopened = await OpenAsync(name, client, options, createIfMissing: false, tieredStorage: storage);
        Assert.All(reopened.Ledgers.Where(l => closed.Contains(l.LedgerId)), l => Assert.True(l.Offloaded && l.BookieDeleted));
        AssertSameEntries(before, await ReadAllAsync(reopened));
        var middle = before[57].Position;
        AssertSameEntries(before.Skip(57).Take(5).ToList(), [.. await reopened.ReadEntriesAsync(middle, 5)]);
    }

    [Fact]
    public async Task The_bookie_copy_stays_until_the_deletion_lag_has_passed()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        using var storage = NewStorage();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10), tieredStorage: storage, time: clock);
        var positions = await AddAsync(ledger, 0, 25);
        Assert.Equal(2, (await ledger.OffloadAsync(positions[^1], Target)).LedgersOffloaded);

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.FromHours(1)));
        var first = ledger.Ledgers[0].LedgerId;
        Assert.Equal(first, (await client.OpenLedgerAsync(first)).LedgerId);

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.FromHours(1)));
        await Assert.ThrowsAsync<LedgerNotFoundException>(() => client.OpenLedgerAsync(first));
        Assert.Equal(Enumerable.Range(0, 25), (await ReadAllAsync(ledger)).Select(MessageOf));
    }

    [Fact]
    public async Task The_threshold_keeps_the_newest_bytes_on_the_bookies()
    {
        using var storage = NewStorage();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10), tieredStorage: storage);
        await AddAsync(ledger, 0, 45);
        var sizes = ledger.Ledgers.Select(l => l.Size).ToList();
        // Keep the current ledger and the newest closed one: the three older ones go.
        var keep = sizes[^1] + sizes[^2];
        var outcome = await ledger.OffloadBeyondThresholdAsync(keep, Target);
        Assert.Equal(3, outcome.LedgersOffloaded);
        Assert.Equal([true, true, true, false, false], ledger.Ledgers.Select(l => l.Offloaded));
        Assert.Equal(0, (await ledger.OffloadBeyondThresholdAsync(keep, Target)).LedgersOffloaded);
    }

    [Fact]
    public async Task Trimming_an_offloaded_ledger_deletes_its_objects()
    {
        using var storage = NewStorage();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10), tieredStorage: storage);
        var positions = await AddAsync(ledger, 0, 25);
        await ledger.OffloadAsync(positions[^1], Target);
        Assert.Equal(2, Directory.GetFiles(StoreDirectory, "*.parquet", SearchOption.AllDirectories).Length);
        await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.Zero);

        await ledger.TrimAsync(RetentionPolicy.None);
        Assert.Single(ledger.Ledgers);
        Assert.Empty(Directory.GetFiles(StoreDirectory, "*.parquet", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Deleting_the_managed_ledger_deletes_its_offloaded_objects()
    {
        using var storage = NewStorage();
        await using var client = NewClient();
        var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10), tieredStorage: storage);
        var positions = await AddAsync(ledger, 0, 25);
        await ledger.OffloadAsync(positions[^1], Target);
        await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.Zero);
        Assert.Equal(2, Directory.GetFiles(StoreDirectory, "*.parquet", SearchOption.AllDirectories).Length);

        await ledger.DeleteAsync();
        Assert.Empty(Directory.GetFiles(StoreDirectory, "*.parquet", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Objects_left_by_an_offload_that_did_not_complete_are_deleted_and_never_read()
    {
        var name = NewName();
        using var storage = NewStorage();
        await using var client = NewClient();
        await using var ledger = await OpenAsync(name, client, Small(entriesPerLedger: 10), tieredStorage: storage);
        var positions = await AddAsync(ledger, 0, 15);
        var ledgerId = ledger.Ledgers[0].LedgerId;
        // What a crashed run leaves: an object of a run that is not recorded as complete.
        var leftover = Path.Combine(StoreDirectory, name, $"ledger-{ledgerId}-deadbeef-000.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        await File.WriteAllTextAsync(leftover, "not a parquet file");

        await ledger.OffloadAsync(positions[^1], Target);
        Assert.False(File.Exists(leftover));
        var objects = Directory.GetFiles(StoreDirectory, "*.parquet", SearchOption.AllDirectories);
        Assert.Single(objects);
        Assert.StartsWith($"ledger-{ledgerId}-", Path.GetFileName(objects[0]), StringComparison.Ordinal);
        await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.Zero);
        Assert.Equal(Enumerable.Range(0, 15), (await ReadAllAsync(ledger)).Select(MessageOf));
    }

    [Fact]
    public async Task While_the_object_store_is_down_reads_fail_with_a_retryable_error_and_succeed_once_it_is_back()
    {
        await using var s3 = await S3Server.StartAsync();
        await s3.CreateBucketAsync("offload");
        using var storage = new TieredStorage(new TieredStorageOptions
        {
            SpoolDirectory = Path.Combine(_root.FullName, "spool"),
            S3AccessKey = S3Server.AccessKey,
            S3SecretKey = S3Server.SecretKey,
            S3UseChunkEncoding = false,
        }, NullLoggerFactory.Instance);
        var target = TieredStorage.AddressOf(new ObjectStoreSettings { Driver = "aws-s3", Bucket = "offload", Endpoint = s3.Endpoint, PathStyle = true });
        Assert.Equal(ObjectStores.S3Driver, target.Driver);
        await using var client = NewClient();
        // No entry cache: every read goes where the entries are stored.
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10) with { EntryCacheBytes = 0 }, tieredStorage: storage);
        var positions = await AddAsync(ledger, 0, 25);
        await ledger.OffloadAsync(positions[^1], target);
        Assert.Equal(2, await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.Zero));

        s3.Kill();
        var error = await Assert.ThrowsAsync<ManagedLedgerException>(() => ledger.ReadEntriesAsync(positions[0], 5).AsTask());
        Assert.Contains("Retry", error.Message, StringComparison.Ordinal);
        Assert.Contains(s3.Endpoint, error.Message, StringComparison.Ordinal);
        Assert.True(ledger.Ledgers.Take(2).All(l => l.Offloaded && l.BookieDeleted));

        await s3.RestartAsync();
        Assert.Equal(Enumerable.Range(0, 25), (await ReadAllAsync(ledger)).Select(MessageOf));
    }

    [Fact]
    public async Task A_damaged_object_fails_the_read_with_an_error_naming_the_ledger()
    {
        // Uncompressed, so the payload of entry 3 can be found in the object and one of its bytes changed.
        using var storage = new TieredStorage(new TieredStorageOptions
        {
            SpoolDirectory = Path.Combine(_root.FullName, "spool"),
            Parquet = new Offloader.Parquet.ParquetLedgerOptions { Compression = Offloader.Parquet.ParquetCompression.None },
        }, NullLoggerFactory.Instance);
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10) with { EntryCacheBytes = 0 }, tieredStorage: storage);
        var positions = await AddAsync(ledger, 0, 15);
        await ledger.OffloadAsync(positions[^1], Target);
        await ledger.DeleteOffloadedFromBookiesAsync(TimeSpan.Zero);
        var file = Assert.Single(Directory.GetFiles(StoreDirectory, "*.parquet", SearchOption.AllDirectories));
        var bytes = await File.ReadAllBytesAsync(file);
        var at = bytes.AsSpan().IndexOf(Payload(3));
        Assert.True(at > 0);
        bytes[at + 2] ^= 0x01;
        await File.WriteAllBytesAsync(file, bytes);

        var error = await Assert.ThrowsAsync<ManagedLedgerException>(() => ledger.ReadEntriesAsync(positions[0], 5).AsTask());
        Assert.Contains($"ledger {positions[0].LedgerId}", error.Message, StringComparison.Ordinal);
        Assert.Contains("damaged", error.Message, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(10, 5), (await ledger.ReadEntriesAsync(positions[10], 5)).Select(MessageOf));
    }

    [Fact]
    public async Task Offload_without_tiered_storage_is_refused_clearly()
    {
        await using var client = NewClient();
        await using var ledger = await OpenAsync(NewName(), client, Small(entriesPerLedger: 10));
        var positions = await AddAsync(ledger, 0, 12);
        var error = await Assert.ThrowsAsync<ManagedLedgerException>(() => ledger.OffloadAsync(positions[^1], Target));
        Assert.Contains("not configured", error.Message, StringComparison.Ordinal);
    }

    private static void AssertSameEntries(List<ManagedEntry> expected, List<ManagedEntry> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Position, actual[i].Position);
            Assert.True(expected[i].Data.Span.SequenceEqual(actual[i].Data.Span), $"Entry {expected[i].Position} differs after offload.");
        }
    }

    public void Dispose()
    {
        try
        {
            _root.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
