namespace Tiered.Bookie.Storage;

internal sealed partial class LedgerIndex
{
    /// <summary>A ledger's info, or null when none was ever set (or the ledger was deleted).</summary>
    public LedgerInfo? GetInfo(long ledgerId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ledgerId);
        Span<byte> key = stackalloc byte[LedgerIndexKeys.LedgerKeySize];
        LedgerIndexKeys.WriteLedgerKey(key, ledgerId);
        var value = _db.Get(key, _ledgers);
        return value is null ? null : LedgerIndexKeys.DecodeInfo(value, ledgerId);
    }

    /// <summary>
    /// Stores a ledger's info. With <paramref name="sync"/> the write is fsynced before this returns —
    /// for a fence, which must be durable before the bookie acknowledges it; otherwise see <see cref="Flush"/>.
    /// </summary>
    public void SetInfo(long ledgerId, LedgerInfo info, bool sync = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ledgerId);
        ArgumentNullException.ThrowIfNull(info);
        Span<byte> key = stackalloc byte[LedgerIndexKeys.LedgerKeySize];
        LedgerIndexKeys.WriteLedgerKey(key, ledgerId);
        _db.Put(key, LedgerIndexKeys.EncodeInfo(info), _ledgers, sync ? _syncWrite : _asyncWrite);
    }

    /// <summary>Every ledger that has info or indexed entries, ascending.</summary>
    public IEnumerable<long> Ledgers()
    {
        var withInfo = new List<long>();
        using (var iterator = _db.NewIterator(_ledgers))
        {
            for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
            {
                withInfo.Add(LedgerIndexKeys.ReadLedgerKey(iterator.GetKeySpan()));
            }
        }

        var withEntries = new List<long>();
        using (var iterator = _db.NewIterator(_entries))
        {
            var seek = new byte[LedgerIndexKeys.EntryKeySize];
            for (iterator.SeekToFirst(); iterator.Valid();)
            {
                var (ledgerId, _) = LedgerIndexKeys.ReadEntryKey(iterator.GetKeySpan());
                withEntries.Add(ledgerId);
                if (ledgerId == long.MaxValue)
                {
                    break;
                }

                LedgerIndexKeys.WriteEntryKey(seek, ledgerId + 1, 0);
                iterator.Seek(seek);
            }
        }

        return Merge(withInfo, withEntries);
    }

    private static List<long> Merge(List<long> left, List<long> right)
    {
        var merged = new List<long>(left.Count + right.Count);
        int i = 0, j = 0;
        while (i < left.Count || j < right.Count)
        {
            long next;
            if (j == right.Count || (i < left.Count && left[i] <= right[j]))
            {
                next = left[i++];
            }
            else
            {
                next = right[j++];
            }

            if (merged.Count == 0 || merged[^1] != next)
            {
                merged.Add(next);
            }
        }

        return merged;
    }
}
