using System.Runtime.CompilerServices;
using Parquet;
using Tiered.Offloader.Parquet;
using Tiered.Offloader.Stored;

namespace Tiered.Offloader;

public sealed partial class TieredStorage
{
    /// <summary>
    /// Entries <paramref name="firstEntryId"/> … <paramref name="lastEntryId"/> of an offloaded
    /// ledger, byte for byte as they were on the bookies, in order. Each row group is fetched with
    /// ranged GETs (its bytes and, once per object, the footer) and cached; the next
    /// <see cref="TieredStorageOptions.ReadAheadRowGroups"/> row groups are fetched ahead.
    /// </summary>
    /// <exception cref="ObjectStoreException">The store failed (see <see cref="ObjectStoreException.IsRetryable"/>).</exception>
    public async IAsyncEnumerable<OffloadEntry> ReadAsync(OffloadedLedger ledger, long firstEntryId, long lastEntryId,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!ledger.Complete)
            throw new InvalidOperationException($"Run {ledger.RunId} of this ledger did not complete; its objects are not readable.");
        var store = GetStore(ledger.Store);
        var groups = RowGroupsOf(ledger);
        var index = FindRowGroup(groups, firstEntryId);
        if (index < 0 || lastEntryId < firstEntryId)
            throw new ArgumentOutOfRangeException(nameof(firstEntryId), $"Entries {firstEntryId}…{lastEntryId} are not in this offloaded ledger (entries 0…{ledger.Entries - 1}).");
        for (; index < groups.Count && groups[index].Group.FirstEntryId <= lastEntryId; index++)
        {
            for (var ahead = 1; ahead <= Options.ReadAheadRowGroups && index + ahead < groups.Count; ahead++)
                _ = LoadRowGroup(store, groups[index + ahead]);
            var entries = await LoadRowGroup(store, groups[index]).WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var entry in entries)
            {
                if (entry.EntryId >= firstEntryId && entry.EntryId <= lastEntryId)
                    yield return entry;
            }
        }
    }

    /// <summary>Row groups fetched from stores since start, and how many reads the cache served.</summary>
    public long RowGroupsFetched => Interlocked.Read(ref _rowGroupsFetched);

    public long RowGroupCacheHits => Interlocked.Read(ref _rowGroupCacheHits);

    private long _rowGroupsFetched;
    private long _rowGroupCacheHits;

    private readonly record struct LocatedRowGroup(OffloadedObject Object, int Index, RowGroup Group);

    private static List<LocatedRowGroup> RowGroupsOf(OffloadedLedger ledger)
    {
        var groups = new List<LocatedRowGroup>();
        foreach (var stored in ledger.Objects)
        {
            for (var i = 0; i < stored.RowGroups.Count; i++)
                groups.Add(new LocatedRowGroup(stored, i, stored.RowGroups[i]));
        }
        return groups;
    }

    private static int FindRowGroup(List<LocatedRowGroup> groups, long entryId)
    {
        int low = 0, high = groups.Count - 1;
        while (low <= high)
        {
            var middle = (low + high) / 2;
            var group = groups[middle].Group;
            if (entryId < group.FirstEntryId)
                high = middle - 1;
            else if (entryId > group.LastEntryId)
                low = middle + 1;
            else
                return middle;
        }
        return -1;
    }

    private Task<OffloadEntry[]> LoadRowGroup(IObjectStore store, LocatedRowGroup located)
    {
        var load = _cache.GetOrLoad(located.Object.Key, located.Index, () => FetchRowGroupAsync(store, located), out var hit);
        Interlocked.Increment(ref hit ? ref _rowGroupCacheHits : ref _rowGroupsFetched);
        return load;
    }

    private async Task<OffloadEntry[]> FetchRowGroupAsync(IObjectStore store, LocatedRowGroup located)
    {
        var footer = await GetFooterAsync(store, located.Object).ConfigureAwait(false);
        var group = new byte[located.Group.Length];
        await ReadExactlyAsync(store, located.Object.Key, located.Group.Offset, group, CancellationToken.None).ConfigureAwait(false);
        using var file = new RangeReadStream(located.Object.Size, (offset, destination, ct) => store.ReadAsync(located.Object.Key, offset, destination, ct),
            [(located.Object.FooterOffset, footer), (located.Group.Offset, group)]);
        var entries = await LedgerParquetReader.ReadRowGroupAsync(file, located.Index).ConfigureAwait(false);
        return [.. entries];
    }

    /// <summary>The object's footer bytes (footer offset … end), fetched once and kept while the object is in use.</summary>
    private Task<byte[]> GetFooterAsync(IObjectStore store, OffloadedObject stored)
        => _footers.GetOrAdd(stored.Key, _ => FetchFooterAsync(store, stored));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<byte[]>> _footers = new();

    private async Task<byte[]> FetchFooterAsync(IObjectStore store, OffloadedObject stored)
    {
        try
        {
            var footer = new byte[stored.Size - stored.FooterOffset];
            await ReadExactlyAsync(store, stored.Key, stored.FooterOffset, footer, CancellationToken.None).ConfigureAwait(false);
            if (_footers.Count > MaxFootersKept)
                _footers.Clear();
            return footer;
        }
        catch
        {
            _footers.TryRemove(stored.Key, out _);
            throw;
        }
    }

    private const int MaxFootersKept = 4096;

    private static async Task ReadExactlyAsync(IObjectStore store, string key, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (destination.Length > 0)
        {
            var read = await store.ReadAsync(key, offset, destination, cancellationToken).ConfigureAwait(false);
            if (read == 0)
                throw new ObjectStoreException($"{key} in {store.Location} ends before byte {offset}: the object is shorter than recorded.", isRetryable: false);
            offset += read;
            destination = destination[read..];
        }
    }

    /// <summary>The rows of each row group, as the object's footer (read from the store) lists them.</summary>
    private static async Task<IReadOnlyList<long>> ReadFooterRowCountsAsync(IObjectStore store, OffloadedObject stored, CancellationToken cancellationToken)
    {
        var footer = new byte[stored.Size - stored.FooterOffset];
        await ReadExactlyAsync(store, stored.Key, stored.FooterOffset, footer, cancellationToken).ConfigureAwait(false);
        using var file = new RangeReadStream(stored.Size, (offset, destination, ct) => store.ReadAsync(stored.Key, offset, destination, ct),
            [(stored.FooterOffset, footer)]);
        await using var reader = await ParquetReader.CreateAsync(file, cancellationToken: cancellationToken).ConfigureAwait(false);
        var rows = new long[reader.RowGroupCount];
        for (var i = 0; i < rows.Length; i++)
        {
            using var group = reader.OpenRowGroupReader(i);
            rows[i] = group.RowCount;
        }
        return rows;
    }
}
