using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Tiered.Offloader.Parquet;
using Tiered.Offloader.Stored;

namespace Tiered.Offloader;

public sealed partial class TieredStorage
{
    private const int MaxIndexesKept = 4096;

    /// <summary>What every Parquet file starts with; the reader checks it, and it need not be fetched.</summary>
    private static readonly ReadOnlyMemory<byte> Magic = "PAR1"u8.ToArray();

    /// <summary>Buffers for fetched row groups (about 8 MiB each; the shared pool does not keep arrays that large).</summary>
    private static readonly System.Buffers.ArrayPool<byte> RowGroupBuffers = System.Buffers.ArrayPool<byte>.Create(maxArrayLength: 64 << 20, maxArraysPerBucket: 4);

    /// <summary>Each object's footer and the row groups it lists, fetched once per object.</summary>
    private readonly ConcurrentDictionary<string, Task<ObjectIndex>> _indexes = new();

    private long _rowGroupsFetched;
    private long _rowGroupCacheHits;

    /// <summary>An object's footer bytes and its layout: the entry range and byte range of each row group.</summary>
    private sealed record ObjectIndex(ReadOnlyMemory<byte> Footer, ParquetObjectLayout Layout);

    /// <summary>Row groups fetched from stores since start, and how many reads the cache served.</summary>
    public long RowGroupsFetched => Interlocked.Read(ref _rowGroupsFetched);

    public long RowGroupCacheHits => Interlocked.Read(ref _rowGroupCacheHits);

    /// <summary>
    /// Entries <paramref name="firstEntryId"/> … <paramref name="lastEntryId"/> of an offloaded
    /// ledger, byte for byte as they were on the bookies, in order. Each object's footer is
    /// fetched once (it lists the row groups, their entry ranges and byte ranges); each row group
    /// is fetched with one ranged GET and cached; when more than one entry is asked for, the next
    /// <see cref="TieredStorageOptions.ReadAheadRowGroups"/> row groups of the object are fetched ahead.
    /// </summary>
    /// <exception cref="ObjectStoreException">The store failed (see <see cref="ObjectStoreException.IsRetryable"/>).</exception>
    public async IAsyncEnumerable<OffloadEntry> ReadAsync(OffloadedLedger ledger, long firstEntryId, long lastEntryId,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!ledger.Complete)
            throw new InvalidOperationException($"Run {ledger.RunId} of this ledger did not complete; its objects are not readable.");
        if (firstEntryId < 0 || lastEntryId < firstEntryId || lastEntryId >= ledger.Entries)
            throw new ArgumentOutOfRangeException(nameof(firstEntryId), $"Entries {firstEntryId}…{lastEntryId} are not in this offloaded ledger (entries 0…{ledger.Entries - 1}).");
        var store = GetStore(ledger.Store);
        // A read of several entries is taken as sequential (a catch-up): the row groups after the one
        // being read are fetched ahead. A single entry (a seek, a peek) fetches only its own.
        var readAhead = lastEntryId > firstEntryId ? Options.ReadAheadRowGroups : 0;
        foreach (var stored in ledger.Objects)
        {
            if (stored.LastEntryId < firstEntryId || stored.FirstEntryId > lastEntryId)
                continue;
            var index = await GetIndexAsync(store, stored).WaitAsync(cancellationToken).ConfigureAwait(false);
            var groups = index.Layout.RowGroups;
            for (var i = index.Layout.RowGroupOf(Math.Max(firstEntryId, stored.FirstEntryId)); i >= 0 && i < groups.Count && groups[i].FirstEntryId <= lastEntryId; i++)
            {
                var loading = LoadRowGroup(store, stored, index, i);
                for (var ahead = 1; ahead <= readAhead && i + ahead < groups.Count; ahead++)
                    _ = LoadRowGroup(store, stored, index, i + ahead);
                foreach (var entry in await loading.WaitAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (entry.EntryId >= firstEntryId && entry.EntryId <= lastEntryId)
                        yield return entry;
                }
            }
        }
    }

    private Task<OffloadEntry[]> LoadRowGroup(IObjectStore store, OffloadedObject stored, ObjectIndex index, int rowGroup)
    {
        var load = _cache.GetOrLoad(stored.Key, rowGroup, () => FetchRowGroupAsync(store, stored, index, rowGroup, Instrumentation), out var hit);
        Interlocked.Increment(ref hit ? ref _rowGroupCacheHits : ref _rowGroupsFetched);
        return load;
    }

    private static async Task<OffloadEntry[]> FetchRowGroupAsync(IObjectStore store, OffloadedObject stored, ObjectIndex index, int rowGroup, Instrumentation instrumentation)
    {
        // The row group's bytes are only read through the stream (which copies them), so the buffer is pooled.
        var range = index.Layout.RowGroups[rowGroup];
        var length = (int)range.Length;
        var buffer = RowGroupBuffers.Rent(length);
        try
        {
            var group = buffer.AsMemory(0, length);
            await ReadIntoAsync(store, stored.Key, range.Offset, group, CancellationToken.None).ConfigureAwait(false);
            instrumentation.ReadBytes.Add(length);
            await using var file = ObjectStream(store, stored, [(0, Magic), (stored.FooterOffset, index.Footer), (range.Offset, group)]);
            var entries = await LedgerParquetReader.ReadRowGroupAsync(file, rowGroup).ConfigureAwait(false);
            return [.. entries];
        }
        finally
        {
            RowGroupBuffers.Return(buffer);
        }
    }

    /// <summary>The object's footer and layout, fetched once and kept while the object is in use.</summary>
    private Task<ObjectIndex> GetIndexAsync(IObjectStore store, OffloadedObject stored)
        => _indexes.GetOrAdd(stored.Key, _ => FetchIndexAsync(store, stored));

    private async Task<ObjectIndex> FetchIndexAsync(IObjectStore store, OffloadedObject stored)
    {
        try
        {
            var index = await ReadIndexAsync(store, stored, CancellationToken.None).ConfigureAwait(false);
            Instrumentation.ReadBytes.Add(stored.Size - stored.FooterOffset);
            if (_indexes.Count > MaxIndexesKept)
                _indexes.Clear();
            return index;
        }
        catch
        {
            _indexes.TryRemove(stored.Key, out _);
            throw;
        }
    }

    /// <summary>
    /// The object's footer as the store holds it, and the layout it describes: row groups, their
    /// rows, entry ranges (from the entry_id statistics) and byte ranges.
    /// </summary>
    private static async Task<ObjectIndex> ReadIndexAsync(IObjectStore store, OffloadedObject stored, CancellationToken cancellationToken)
    {
        var footer = await ReadBytesAsync(store, stored.Key, stored.FooterOffset, stored.Size - stored.FooterOffset, cancellationToken).ConfigureAwait(false);
        await using var file = ObjectStream(store, stored, [(0, Magic), (stored.FooterOffset, footer)]);
        var layout = await LedgerParquetReader.ReadLayoutAsync(file, cancellationToken).ConfigureAwait(false);
        return new ObjectIndex(footer, layout);
    }

    /// <summary>A seekable stream over the object, served from <paramref name="fetched"/> ranges and ranged GETs for anything else.</summary>
    private static RangeReadStream ObjectStream(IObjectStore store, OffloadedObject stored, IEnumerable<(long Offset, ReadOnlyMemory<byte> Bytes)> fetched)
        => new(stored.Size, (offset, destination, ct) => store.ReadAsync(stored.Key, offset, destination, ct), fetched);

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

    /// <summary>Test seam: the layout of one object of an offloaded ledger, as its footer in the store describes it.</summary>
    internal async Task<ParquetObjectLayout> LayoutOfAsync(OffloadedLedger ledger, int objectIndex)
    {
        var stored = ledger.Objects[objectIndex];
        return (await GetIndexAsync(GetStore(ledger.Store), stored).ConfigureAwait(false)).Layout;
    }
}
