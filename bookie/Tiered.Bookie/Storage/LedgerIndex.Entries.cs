using RocksDbSharp;

namespace Tiered.Bookie.Storage;

internal sealed partial class LedgerIndex
{
    /// <summary>Records where entries live, all in one atomic write batch (not yet fsynced; see <see cref="Flush"/>).</summary>
    public void PutBatch(ReadOnlySpan<LedgerIndexEntry> entries)
    {
        if (entries.IsEmpty)
        {
            return;
        }

        using var batch = new WriteBatch();
        Span<byte> key = stackalloc byte[LedgerIndexKeys.EntryKeySize];
        Span<byte> value = stackalloc byte[LedgerIndexKeys.LocationSize];
        foreach (var entry in entries)
        {
            CheckIds(entry.LedgerId, entry.EntryId);
            LedgerIndexKeys.WriteEntryKey(key, entry.LedgerId, entry.EntryId);
            LedgerIndexKeys.WriteLocation(value, entry.Location);
            batch.Put(key, value, _entries);
        }

        _db.Write(batch, _asyncWrite);
    }

    /// <summary>Records where one entry lives.</summary>
    public void Put(long ledgerId, long entryId, EntryLocation location) =>
        PutBatch([new LedgerIndexEntry(ledgerId, entryId, location)]);

    /// <summary>Where an entry lives, if the index has it.</summary>
    public bool TryGet(long ledgerId, long entryId, out EntryLocation location)
    {
        CheckIds(ledgerId, entryId);
        Span<byte> key = stackalloc byte[LedgerIndexKeys.EntryKeySize];
        Span<byte> value = stackalloc byte[LedgerIndexKeys.LocationSize];
        LedgerIndexKeys.WriteEntryKey(key, ledgerId, entryId);
        if (_db.GetFixedSizeValue(key, value, _entries))
        {
            location = LedgerIndexKeys.ReadLocation(value);
            return true;
        }

        location = default;
        return false;
    }

    /// <summary>The highest entry id indexed for a ledger, or null when it has none.</summary>
    public long? LastEntryId(long ledgerId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ledgerId);
        Span<byte> bound = stackalloc byte[LedgerIndexKeys.EntryKeySize];
        LedgerIndexKeys.WriteEntryKeyUpperBound(bound, ledgerId);
        using var iterator = _db.NewIterator(_entries);
        iterator.SeekForPrev(bound);
        if (!iterator.Valid())
        {
            return null;
        }

        var (foundLedger, entryId) = LedgerIndexKeys.ReadEntryKey(iterator.GetKeySpan());
        return foundLedger == ledgerId ? entryId : null;
    }

    /// <summary>Removes every entry of a ledger and its info, atomically.</summary>
    public void DeleteLedger(long ledgerId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ledgerId);
        var start = new byte[LedgerIndexKeys.EntryKeySize];
        var end = new byte[LedgerIndexKeys.EntryKeySize];
        LedgerIndexKeys.WriteEntryKey(start, ledgerId, 0);
        LedgerIndexKeys.WriteEntryKeyUpperBound(end, ledgerId);
        Span<byte> ledgerKey = stackalloc byte[LedgerIndexKeys.LedgerKeySize];
        LedgerIndexKeys.WriteLedgerKey(ledgerKey, ledgerId);
        using var batch = new WriteBatch();
        batch.DeleteRange(start, (ulong)start.Length, end, (ulong)end.Length, _entries);
        batch.Delete(ledgerKey, _ledgers);
        _db.Write(batch, _asyncWrite);
    }

    /// <summary>The indexed entries of a ledger in entry order (for re-replication and checks).</summary>
    public IEnumerable<LedgerIndexEntry> Entries(long ledgerId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ledgerId);
        var start = new byte[LedgerIndexKeys.EntryKeySize];
        LedgerIndexKeys.WriteEntryKey(start, ledgerId, 0);
        return EntriesFrom(start, ledgerId);
    }

    private IEnumerable<LedgerIndexEntry> EntriesFrom(byte[] start, long ledgerId)
    {
        using var iterator = _db.NewIterator(_entries);
        for (iterator.Seek(start); iterator.Valid(); iterator.Next())
        {
            var (foundLedger, entryId) = LedgerIndexKeys.ReadEntryKey(iterator.GetKeySpan());
            if (foundLedger != ledgerId)
            {
                yield break;
            }

            yield return new LedgerIndexEntry(ledgerId, entryId, LedgerIndexKeys.ReadLocation(iterator.GetValueSpan()));
        }
    }

    private static void CheckIds(long ledgerId, long entryId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ledgerId);
        ArgumentOutOfRangeException.ThrowIfNegative(entryId);
    }
}
