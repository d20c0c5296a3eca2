using System.Buffers;
using System.Buffers.Binary;
using global::Parquet;
using S = Tiered.Offloader.Parquet.LedgerParquetSchema;

namespace Tiered.Offloader.Parquet;

/// <summary>
/// Reads entries back from an object written by <see cref="LedgerParquetWriter"/>. It reads only the leading
/// magic, the footer and one row group's rebuild columns (entry_id, payload, entry_frame, payload_offset),
/// so a <see cref="RangeReadStream"/> prefetched with <see cref="ParquetObjectLayout.RangesFor"/> serves it
/// without another request.
/// </summary>
public static class LedgerParquetReader
{
    private static readonly ParquetOptions ReadOptions = new();

    /// <summary>The entries of one row group, rebuilt byte for byte, in entry id order.</summary>
    /// <param name="file">A seekable read-only stream over the whole object.</param>
    /// <exception cref="InvalidDataException">The object is not an offloaded ledger, or is corrupt.</exception>
    public static async Task<IReadOnlyList<OffloadEntry>> ReadRowGroupAsync(Stream file, int rowGroupIndex, CancellationToken cancellationToken = default)
    {
        await using var reader = await OpenAsync(file, cancellationToken).ConfigureAwait(false);
        if (rowGroupIndex < 0 || rowGroupIndex >= reader.RowGroupCount)
            throw new ArgumentOutOfRangeException(nameof(rowGroupIndex), rowGroupIndex, $"The object has {reader.RowGroupCount} row groups.");
        var rowGroup = reader.OpenRowGroupReader(rowGroupIndex);
        var rows = checked((int)rowGroup.RowCount);
        var entryIds = ArrayPool<long>.Shared.Rent(rows);
        var payloadOffsets = ArrayPool<long>.Shared.Rent(rows);
        var payloads = ArrayPool<ReadOnlyMemory<byte>>.Shared.Rent(rows);
        var frames = ArrayPool<ReadOnlyMemory<byte>>.Shared.Rent(rows);
        var frameLevels = ArrayPool<int>.Shared.Rent(rows);
        var checksums = ArrayPool<long>.Shared.Rent(rows);
        var checksumLevels = ArrayPool<int>.Shared.Rent(rows);
        try
        {
            await rowGroup.ReadRawAsync(S.EntryId, entryIds.AsMemory(0, rows), null, null, cancellationToken).ConfigureAwait(false);
            await rowGroup.ReadRawAsync(S.Payload, payloads.AsMemory(0, rows), null, null, cancellationToken).ConfigureAwait(false);
            await rowGroup.ReadRawAsync(S.EntryFrame, frames.AsMemory(0, rows), frameLevels.AsMemory(0, rows), null, cancellationToken).ConfigureAwait(false);
            await rowGroup.ReadRawAsync(S.PayloadOffset, payloadOffsets.AsMemory(0, rows), null, null, cancellationToken).ConfigureAwait(false);
            await rowGroup.ReadRawAsync(S.EntryChecksum, checksums.AsMemory(0, rows), checksumLevels.AsMemory(0, rows), null, cancellationToken).ConfigureAwait(false);
            var entries = Rebuild(rows, entryIds, payloads, frames, frameLevels, payloadOffsets);
            Verify(entries, checksums);
            return entries;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(entryIds);
            ArrayPool<long>.Shared.Return(payloadOffsets);
            ArrayPool<ReadOnlyMemory<byte>>.Shared.Return(payloads, clearArray: true);
            ArrayPool<ReadOnlyMemory<byte>>.Shared.Return(frames, clearArray: true);
            ArrayPool<int>.Shared.Return(frameLevels);
            ArrayPool<long>.Shared.Return(checksums);
            ArrayPool<int>.Shared.Return(checksumLevels);
        }
    }

    /// <summary>
    /// Reads an object's layout back from its footer — row counts, byte ranges, and entry ranges from the
    /// entry_id statistics — to check it against the layout the writer returned.
    /// </summary>
    public static async Task<ParquetObjectLayout> ReadLayoutAsync(Stream file, CancellationToken cancellationToken = default)
    {
        var tail = new byte[8];
        file.Seek(-8, SeekOrigin.End);
        await file.ReadExactlyAsync(tail, cancellationToken).ConfigureAwait(false);
        var size = file.Length;
        var footerOffset = size - 8 - BinaryPrimitives.ReadInt32LittleEndian(tail);
        await using var reader = await OpenAsync(file, cancellationToken).ConfigureAwait(false);
        var groups = new RowGroupLayout[reader.RowGroupCount];
        long rows = 0;
        for (var i = 0; i < groups.Length; i++)
        {
            var rowGroup = reader.OpenRowGroupReader(i);
            long start = long.MaxValue, end = 0;
            foreach (var chunk in rowGroup.RowGroup.Columns)
            {
                var meta = chunk.MetaData ?? throw new InvalidDataException($"Row group {i} has a column chunk without metadata.");
                var chunkStart = meta.DictionaryPageOffset is > 0 and var dictionary ? Math.Min(dictionary, meta.DataPageOffset) : meta.DataPageOffset;
                start = Math.Min(start, chunkStart);
                end = Math.Max(end, chunkStart + meta.TotalCompressedSize);
            }
            var stats = rowGroup.GetStatistics(S.EntryId);
            if (stats?.MinValue is not long first || stats.MaxValue is not long last)
                throw new InvalidDataException($"Row group {i} has no entry_id statistics.");
            groups[i] = new RowGroupLayout(first, last, rowGroup.RowCount, start, end - start);
            rows += rowGroup.RowCount;
        }
        return new ParquetObjectLayout(size, footerOffset, rows, groups);
    }

    private static async Task<ParquetReader> OpenAsync(Stream file, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(file, ReadOptions, leaveStreamOpen: true, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new InvalidDataException("Not a Parquet object: " + e.Message, e);
        }
        if (!reader.CustomMetadata.TryGetValue(S.FormatKey, out var version) || version != S.FormatVersion)
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw new InvalidDataException(
                $"Not an offloaded ledger of format {S.FormatVersion}: the footer's {S.FormatKey} is {version ?? "missing"}.");
        }
        return reader;
    }

    /// <summary>
    /// Each entry is its frame (the first row's entry_frame) with every row's payload spliced back at the
    /// row's payload_offset, in row order.
    /// </summary>
    private static OffloadEntry[] Rebuild(int rows, long[] entryIds, ReadOnlyMemory<byte>[] payloads,
        ReadOnlyMemory<byte>[] frames, int[] frameLevels, long[] payloadOffsets)
    {
        var entryCount = 0;
        for (var row = 0; row < rows; row++)
        {
            if (frameLevels[row] > 0)
                entryCount++;
        }
        if (rows > 0 && frameLevels[0] == 0)
            throw new InvalidDataException("The row group's first row carries no entry_frame.");
        var entries = new OffloadEntry[entryCount];
        var first = 0;
        for (var e = 0; e < entryCount; e++)
        {
            var end = first + 1;
            while (end < rows && frameLevels[end] == 0)
                end++;
            entries[e] = new OffloadEntry(entryIds[first], Splice(frames[e].Span, payloads.AsSpan(first, end - first), payloadOffsets.AsSpan(first, end - first), entryIds[first]));
            first = end;
        }
        return entries;
    }

    /// <summary>Every rebuilt entry against the checksum written with it (one per entry, in entry order).</summary>
    private static void Verify(OffloadEntry[] entries, long[] checksums)
    {
        for (var e = 0; e < entries.Length; e++)
        {
            var actual = (long)System.IO.Hashing.XxHash64.HashToUInt64(entries[e].Data.Span);
            if (actual != checksums[e])
                throw new InvalidDataException($"Entry {entries[e].EntryId} read back differs from the entry offloaded (XxHash64 {actual:x16}, written {checksums[e]:x16}): the object is damaged.");
        }
    }

    private static byte[] Splice(ReadOnlySpan<byte> frame, ReadOnlySpan<ReadOnlyMemory<byte>> payloads, ReadOnlySpan<long> offsets, long entryId)
    {
        long length = frame.Length;
        for (var i = 0; i < payloads.Length; i++)
            length += payloads[i].Length;
        var entry = new byte[length];
        var written = 0;
        var framed = 0;
        for (var i = 0; i < payloads.Length; i++)
        {
            var gap = offsets[i] - written;
            if (gap < 0 || gap > frame.Length - framed)
                throw new InvalidDataException($"Entry {entryId}: payload {i} at offset {offsets[i]} does not fit its frame.");
            frame.Slice(framed, (int)gap).CopyTo(entry.AsSpan(written));
            framed += (int)gap;
            written += (int)gap;
            payloads[i].Span.CopyTo(entry.AsSpan(written));
            written += payloads[i].Length;
        }
        frame[framed..].CopyTo(entry.AsSpan(written));
        return entry;
    }
}
