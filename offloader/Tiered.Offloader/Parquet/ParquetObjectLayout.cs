namespace Tiered.Offloader.Parquet;

/// <summary>
/// Where things are in an offloaded ledger's Parquet object: its size, where its footer starts (the footer
/// runs to the end: metadata, its 4-byte length and the closing magic) and the byte range and entries of
/// each row group. Kept with the offload's metadata so a reader fetches one row group without listing or
/// downloading the object.
/// </summary>
public sealed record ParquetObjectLayout(long Size, long FooterOffset, long Rows, IReadOnlyList<RowGroupLayout> RowGroups)
{
    /// <summary>Length of Parquet's leading magic ("PAR1"), which readers check before the footer.</summary>
    public const int MagicLength = 4;

    /// <summary>
    /// The byte ranges (offset, length), in offset order and merged where they touch, that a reader of row
    /// group <paramref name="rowGroup"/> needs: the leading magic, the row group's column chunks and the footer.
    /// </summary>
    public IReadOnlyList<(long Offset, long Length)> RangesFor(int rowGroup)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowGroup);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rowGroup, RowGroups.Count);
        var group = RowGroups[rowGroup];
        var ranges = new List<(long Offset, long Length)>(3);
        Append(ranges, 0, MagicLength);
        Append(ranges, group.Offset, group.Length);
        Append(ranges, FooterOffset, Size - FooterOffset);
        return ranges;
    }

    /// <summary>The index of the row group holding <paramref name="entryId"/>, or -1.</summary>
    public int RowGroupOf(long entryId)
    {
        int low = 0, high = RowGroups.Count - 1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var group = RowGroups[middle];
            if (entryId < group.FirstEntryId)
                high = middle - 1;
            else if (entryId > group.LastEntryId)
                low = middle + 1;
            else
                return middle;
        }
        return -1;
    }

    private static void Append(List<(long Offset, long Length)> ranges, long offset, long length)
    {
        if (ranges.Count > 0 && ranges[^1].Offset + ranges[^1].Length >= offset)
        {
            var last = ranges[^1];
            ranges[^1] = (last.Offset, Math.Max(last.Offset + last.Length, offset + length) - last.Offset);
            return;
        }
        ranges.Add((offset, length));
    }
}

/// <summary>One row group: the entries it holds (all of each), its row count and its bytes in the object.</summary>
public readonly record struct RowGroupLayout(long FirstEntryId, long LastEntryId, long Rows, long Offset, long Length);
