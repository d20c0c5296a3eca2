using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Offloader.Parquet;
using Tiered.Offloader.Stored;
using Tiered.Offloader.Stores;
using Tiered.Offloader.Tests.Parquet;

namespace Tiered.Offloader.Tests;

/// <summary><see cref="TieredStorage"/> over a filesystem store: objects written, verified and read back by row group.</summary>
public sealed class TieredStorageTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("tiered-storage-test-");
    private CountingStore? _store;

    private StoreAddress Target => TieredStorage.AddressOf(new ObjectStoreSettings { Driver = "filesystem", Directory = Path.Combine(_root.FullName, "store") });

    private TieredStorage NewStorage(Func<IObjectStore, IObjectStore>? wrap = null, long maxObjectBytes = 1L << 30) => new(new TieredStorageOptions
    {
        SpoolDirectory = Path.Combine(_root.FullName, "spool"),
        MaxObjectBytes = maxObjectBytes,
        // Uncompressed: the fixtures' payloads compress well, and the tests count on object sizes.
        Parquet = new ParquetLedgerOptions { MaxRowGroupBytes = 64 << 10, Compression = ParquetCompression.None },
    }, NullLoggerFactory.Instance, address =>
    {
        IObjectStore store = new FileSystemObjectStore(address.Directory);
        return _store = new CountingStore(wrap?.Invoke(store) ?? store);
    });

    private static List<(long Id, byte[] Bytes)> Entries(int count) => [.. Enumerable.Range(0, count).Select(i => ((long)i, LedgerFixtures.Batch(i, messages: 20, payloadBytes: 500)))];

    private static async IAsyncEnumerable<OffloadEntry> Source(IEnumerable<(long Id, byte[] Bytes)> entries, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var (id, bytes) in entries)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new OffloadEntry(id, bytes);
        }
    }

    private static async Task<List<OffloadEntry>> ReadAsync(TieredStorage storage, OffloadedLedger ledger, long first, long last)
    {
        var read = new List<OffloadEntry>();
        await foreach (var entry in storage.ReadAsync(ledger, first, last))
            read.Add(entry);
        return read;
    }

    [Fact]
    public async Task A_ledger_split_over_several_objects_reads_back_byte_for_byte_from_any_entry()
    {
        var entries = Entries(300);
        using var storage = NewStorage(maxObjectBytes: 1 << 20);
        var ledger = await storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 7, 299, "run1"), Source(entries));

        Assert.True(ledger.Complete);
        Assert.True(ledger.Objects.Count >= 2, $"{ledger.Objects.Count} objects");
        Assert.Equal(300, ledger.Entries);
        Assert.Equal(300 * 20, ledger.Rows);
        Assert.Equal(entries.Sum(e => (long)e.Bytes.Length), ledger.LedgerBytes);
        Assert.Equal(0, ledger.Objects[0].FirstEntryId);
        for (var i = 1; i < ledger.Objects.Count; i++)
            Assert.Equal(ledger.Objects[i - 1].LastEntryId + 1, ledger.Objects[i].FirstEntryId);
        Assert.All(ledger.Objects, o => Assert.StartsWith("t/ns/persistent/topic/ledger-7-run1-", o.Key, StringComparison.Ordinal));

        using var reader = NewStorage();
        var all = await ReadAsync(reader, ledger, 0, 299);
        Assert.Equal(entries.Select(e => e.Id), all.Select(e => e.EntryId));
        Assert.All(all, e => Assert.True(entries[(int)e.EntryId].Bytes.AsSpan().SequenceEqual(e.Data.Span)));
        var middle = await ReadAsync(reader, ledger, 151, 153);
        Assert.Equal([151L, 152, 153], middle.Select(e => e.EntryId));
    }

    [Fact]
    public async Task Reading_one_entry_fetches_its_row_group_and_the_footer_and_a_second_read_is_served_from_the_cache()
    {
        using var writer = NewStorage();
        var ledger = await writer.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 8, 199, "run1"), Source(Entries(200)));
        var groups = (await writer.LayoutOfAsync(ledger, 0)).RowGroups.Count;
        Assert.True(groups > 5, $"{groups} row groups");

        using var storage = new TieredStorage(new TieredStorageOptions { SpoolDirectory = Path.Combine(_root.FullName, "spool"), ReadAheadRowGroups = 0 },
            NullLoggerFactory.Instance, address => _store = new CountingStore(new FileSystemObjectStore(address.Directory)));
        var one = Assert.Single(await ReadAsync(storage, ledger, 100, 100));
        Assert.Equal(100, one.EntryId);
        Assert.Equal(2, _store!.RangeReads);
        Assert.Equal(1, storage.RowGroupsFetched);

        Assert.Single(await ReadAsync(storage, ledger, 100, 100));
        Assert.Equal(2, _store.RangeReads);
        Assert.Equal(1, storage.RowGroupCacheHits);
    }

    [Fact]
    public async Task A_sequential_reader_gets_the_next_row_groups_fetched_ahead()
    {
        using var writer = NewStorage();
        var ledger = await writer.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 9, 199, "run1"), Source(Entries(200)));
        using var storage = NewStorage();
        var layout = await writer.LayoutOfAsync(ledger, 0);
        var first = layout.RowGroups[0];
        await ReadAsync(storage, ledger, first.FirstEntryId, first.LastEntryId);
        Assert.Equal(3, storage.RowGroupsFetched);
        var second = layout.RowGroups[1];
        await ReadAsync(storage, ledger, second.FirstEntryId, second.LastEntryId);
        Assert.True(storage.RowGroupCacheHits >= 1);
    }

    [Fact]
    public async Task An_object_the_store_changed_fails_verification_and_the_offload()
    {
        using var storage = NewStorage(store => new CorruptingStore(store));
        var error = await Assert.ThrowsAsync<OffloadException>(() => storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 10, 49, "run1"), Source(Entries(50))));
        Assert.Contains("differ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_or_out_of_order_entries_fail_the_offload()
    {
        using var storage = NewStorage();
        var gap = await Assert.ThrowsAsync<OffloadException>(() => storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 11, 9, "run1"),
            Source(Entries(10).Where(e => e.Id != 4))));
        Assert.Contains("expected entry 4, got 5", gap.Message, StringComparison.Ordinal);
        var short_ = await Assert.ThrowsAsync<OffloadException>(() => storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 11, 9, "run2"), Source(Entries(8))));
        Assert.Contains("expected 10", short_.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_more_ledgers_than_the_broker_wide_limit_are_offloaded_at_once()
    {
        var puts = new ConcurrentPutStore();
        using var storage = new TieredStorage(new TieredStorageOptions { SpoolDirectory = Path.Combine(_root.FullName, "spool"), MaxConcurrentOffloads = 2 },
            NullLoggerFactory.Instance, address => puts.Wrap(new FileSystemObjectStore(address.Directory)));
        var offloads = Enumerable.Range(0, 6).Select(i => storage.OffloadLedgerAsync(new OffloadRun(Target, $"t/ns/persistent/topic-{i}", i, 9, $"run{i}"), Source(Entries(10)))).ToList();
        await puts.WaitUntilAsync(2);
        Assert.Equal(2, storage.ActiveOffloads);
        puts.Release();
        await Task.WhenAll(offloads);
        Assert.Equal(2, puts.MostAtOnce);
        Assert.Equal(0, storage.ActiveOffloads);
    }

    [Fact]
    public async Task Leftovers_of_other_runs_are_deleted_and_the_kept_run_stays()
    {
        using var storage = NewStorage();
        await storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 12, 9, "old"), Source(Entries(10)));
        var kept = await storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 12, 9, "new"), Source(Entries(10)));
        await storage.OffloadLedgerAsync(new OffloadRun(Target, "t/ns/persistent/topic", 120, 9, "other-ledger"), Source(Entries(10)));

        Assert.Equal(1, await storage.DeleteLeftoversAsync(Target, "t/ns/persistent/topic", 12, keepRunId: "new"));
        var remaining = Directory.GetFiles(Path.Combine(_root.FullName, "store"), "*.parquet", SearchOption.AllDirectories).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["ledger-12-new-000-entries-0-9.parquet", "ledger-120-other-ledger-000-entries-0-9.parquet"], remaining);
        Assert.Equal(10, (await ReadAsync(storage, kept, 0, 9)).Count);
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

    /// <summary>Holds every put until released, counting how many were waiting at once.</summary>
    private sealed class ConcurrentPutStore
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _now;
        private int _most;

        public int MostAtOnce => Volatile.Read(ref _most);

        public void Release() => _released.TrySetResult();

        public async Task WaitUntilAsync(int waiting)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (Volatile.Read(ref _now) < waiting)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {Volatile.Read(ref _now)} puts arrived");
                await Task.Delay(10);
            }
        }

        public IObjectStore Wrap(IObjectStore inner) => new Held(this, inner);

        private sealed class Held(ConcurrentPutStore owner, IObjectStore inner) : IObjectStore
        {
            public string Location => inner.Location;

            public bool VerifiesPuts => inner.VerifiesPuts;

            public async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
            {
                var now = Interlocked.Increment(ref owner._now);
                int most;
                while (now > (most = Volatile.Read(ref owner._most)) && Interlocked.CompareExchange(ref owner._most, now, most) != most)
                {
                }
                await owner._released.Task.WaitAsync(cancellationToken);
                try
                {
                    await inner.PutAsync(key, content, cancellationToken);
                }
                finally
                {
                    Interlocked.Decrement(ref owner._now);
                }
            }

            public Task<int> ReadAsync(string key, long offset, Memory<byte> destination, CancellationToken cancellationToken = default) => inner.ReadAsync(key, offset, destination, cancellationToken);

            public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

            public Task<long?> GetSizeAsync(string key, CancellationToken cancellationToken = default) => inner.GetSizeAsync(key, cancellationToken);

            public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

            public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

            public void Dispose() => inner.Dispose();
        }
    }

    /// <summary>Counts ranged reads.</summary>
    private sealed class CountingStore(IObjectStore inner) : IObjectStore
    {
        private int _rangeReads;

        public int RangeReads => Volatile.Read(ref _rangeReads);

        public string Location => inner.Location;

        public bool VerifiesPuts => inner.VerifiesPuts;

        public Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutAsync(key, content, cancellationToken);

        public Task<int> ReadAsync(string key, long offset, Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _rangeReads);
            return inner.ReadAsync(key, offset, destination, cancellationToken);
        }

        public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

        public Task<long?> GetSizeAsync(string key, CancellationToken cancellationToken = default) => inner.GetSizeAsync(key, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    /// <summary>Stores every object with one byte in its middle changed (a bad disk, a broken proxy).</summary>
    private sealed class CorruptingStore(IObjectStore inner) : IObjectStore
    {
        public string Location => inner.Location;

        public bool VerifiesPuts => false;

        public async Task PutAsync(string key, Stream content, CancellationToken cancellationToken = default)
        {
            var bytes = new MemoryStream();
            await content.CopyToAsync(bytes, cancellationToken);
            var buffer = bytes.ToArray();
            buffer[buffer.Length / 2] ^= 0xFF;
            await inner.PutAsync(key, new MemoryStream(buffer), cancellationToken);
        }

        public Task<int> ReadAsync(string key, long offset, Memory<byte> destination, CancellationToken cancellationToken = default) => inner.ReadAsync(key, offset, destination, cancellationToken);

        public Task<Stream> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

        public Task<long?> GetSizeAsync(string key, CancellationToken cancellationToken = default) => inner.GetSizeAsync(key, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
