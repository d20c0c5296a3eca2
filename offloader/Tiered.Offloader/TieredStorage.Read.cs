using System.Runtime.CompilerServices;
using Tiered.Offloader.Parquet;
using Tiered.Offloader.Stored;

namespace Tiered.Offloader;

public sealed partial class TieredStorage
{
    /// <summary>
    /// Entries <paramref name="firstEntryId"/> … <paramref name="lastEntryId"/> of an offloaded
    /// ledger, byte for byte as they were on the bookies, in order. Each row group is fetched with
    /// ranged GETs (its bytes and, once per object, the footer) and cached; when more than one
    /// entry is asked for, the next <see cref="TieredStorageOptions.ReadAheadRowGroups"/> row
    /// groups are fetched ahead.
    /// </summary>
    /// <exception cref="ObjectStoreException">The store failed (see <see cref="ObjectStoreException.IsRetryable"/>).</exception>
    public async IAsyncEnumerable<OffloadEntry> ReadAsync(OffloadedLedger ledger, long firstEntryId, long lastEntryId,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!ledger.Complete)
            throw new InvalidOperationException($"Run {ledger.RunId} of this ledger did not complete; its objects are not readable.");
        var store = GetStore(ledger.Store);
        var groups = RowGroupsOf(ledger);
        var index = groups.FindIndex(g => g.Group.FirstEntryId <= firstEntryId && firstEntryId <= g.Group.LastEntryId);
        if (index < 0 || lastEntryId < firstEntryId)
            throw new ArgumentOutOfRangeException(nameof(firstEntryId), $"Entries {firstEntryId}…{lastEntryId} are not in this offloaded ledger (entries 0…{ledger.Entries - 1}).");
        // A read of several entries is taken as sequential (a catch-up): the row groups after the one
        // being read are fetched ahead. A single entry (a seek, a peek) fetches only its own.
        var readAhead = lastEntryId > firstEntryId ? Options.ReadAheadRowGroups : 0;
        for (; index < groups.Count && groups[index].Group.FirstEntryId <= lastEntryId; index++)
        {
            var loading = LoadRowGroup(store, groups[index]);
            for (var ahead = 1; ahead <= readAhead && index + ahead < groups.Count; ahead++)
                _ = LoadRowGroup(store, groups[index + ahead]);
            var entries = await loading.WaitAsync(cancellationToken).ConfigureAwait(false);
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

    private Task<OffloadEntry[]> LoadRowGroup(IObjectStore store, LocatedRowGroup located)
    {
        var load = _cache.GetOrLoad(located.Object.Key, located.Index, () => FetchRowGroupAsync(store, located), out var hit);
        Interlocked.Increment(ref hit ? ref _rowGroupCacheHits : ref _rowGroupsFetched);
        return load;
    }

    private async Task<OffloadEntry[]> FetchRowGroupAsync(IObjectStore store, LocatedRowGroup located)
    {
        var footer = await GetFooterAsync(store, located.Object).ConfigureAwait(false);
        // The row group's bytes are only read through the stream (which copies them), so the buffer is pooled.
        var length = (int)located.Group.Length;
        var buffer = RowGroupBuffers.Rent(length);
        try
        {
            var group = buffer.AsMemory(0, length);
            await ReadIntoAsync(store, located.Object.Key, located.Group.Offset, group, CancellationToken.None).ConfigureAwait(false);
            await using var file = ObjectStream(store, located.Object, [(0, Magic), (located.Object.FooterOffset, footer), (located.Group.Offset, group)]);
            var entries = await LedgerParquetReader.ReadRowGroupAsync(file, located.Index).ConfigureAwait(false);
            return [.. entries];
        }
        finally
        {
            RowGroupBuffers.Return(buffer);
        }
    }

    /// <summary>Buffers for fetched row groups (about 8 MiB each; the shared pool does not keep arrays that large).</summary>
    private static readonly System.Buffers.ArrayPool<byte> RowGroupBuffers = System.Buffers.ArrayPool<byte>.Create(maxArrayLength: 64 << 20, maxArraysPerBucket: 4);

    /// <summary>The object's footer bytes (footer offset … end), fetched once and kept while the object is in use.</summary>
    private Task<byte[]> GetFooterAsync(IObjectStore store, OffloadedObject stored)
        => _footers.GetOrAdd(stored.Key, _ => FetchFooterAsync(store, stored));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<byte[]>> _footers = new();

    private async Task<byte[]> FetchFooterAsync(IObjectStore store, OffloadedObject stored)
    {
        try
        {
            var footer = await ReadBytesAsync(store, stored.Key, stored.FooterOffset, stored.Size - stored.FooterOffset, CancellationToken.None).ConfigureAwait(false);
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

    /// <summary><paramref name="length"/> bytes of the object from <paramref name="offset"/> (one ranged GET, more only if the store returns less).</summary>
    private static async Task<byte[]> ReadBytesAsync(IObjectStore store, string key, long offset, long length, CancellationToken cancellationToken)
    {
        var bytes = new byte[length];
        await ReadIntoAsync(store, key, offset, bytes, cancellationToken).ConfigureAwait(false);
        return bytes;
    }

    /// <summary>Fills <paramref name="destination"/> with the object's bytes from <paramref name="offset"/>.</summary>
    private static async Task ReadIntoAsync(IObjectStore store, string key, long offset, Memory<byte> destination, CancellationToken cancellationToken)
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

    /// <summary>The object's layout as its footer (read from the store) describes it: row groups, their rows, entries and byte ranges.</summary>
    private static async Task<ParquetObjectLayout> ReadStoredLayoutAsync(IObjectStore store, OffloadedObject stored, CancellationToken cancellationToken)
    {
        var footer = await ReadBytesAsync(store, stored.Key, stored.FooterOffset, stored.Size - stored.FooterOffset, cancellationToken).ConfigureAwait(false);
        await using var file = ObjectStream(store, stored, [(0, Magic), (stored.FooterOffset, footer)]);
        return await LedgerParquetReader.ReadLayoutAsync(file, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What every Parquet file starts with; the reader checks it, and it need not be fetched.</summary>
    private static readonly ReadOnlyMemory<byte> Magic = "PAR1"u8.ToArray();

    /// <summary>A seekable stream over the object, served from <paramref name="fetched"/> ranges and ranged GETs for anything else.</summary>
    private static RangeReadStream ObjectStream(IObjectStore store, OffloadedObject stored, IEnumerable<(long Offset, ReadOnlyMemory<byte> Bytes)> fetched)
        => new(stored.Size, (offset, destination, ct) => store.ReadAsync(stored.Key, offset, destination, ct), fetched);
}
