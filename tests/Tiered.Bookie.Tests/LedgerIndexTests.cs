using Tiered.Bookie.Storage;

namespace Tiered.Bookie.Tests;

public sealed class LedgerIndexTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Entries_last_entry_ids_and_ledger_info_survive_reopen()
    {
        var masterKey = new byte[] { 9, 8, 7 };
        using (var index = Open())
        {
            index.PutBatch([
                new LedgerIndexEntry(1, 0, new EntryLocation(0, 32)),
                new LedgerIndexEntry(1, 1, new EntryLocation(0, 100)),
                new LedgerIndexEntry(2, 0, new EntryLocation(3, long.MaxValue - 1)),
            ]);
            index.SetInfo(1, new LedgerInfo(Fenced: true, LastAddConfirmed: 0, MasterKey: masterKey));
            index.SetInfo(2, LedgerInfo.Empty, sync: true);
            index.Flush();
        }

        using (var index = Open())
        {
            Assert.True(index.TryGet(1, 1, out var location));
            Assert.Equal(new EntryLocation(0, 100), location);
            Assert.True(index.TryGet(2, 0, out location));
            Assert.Equal(new EntryLocation(3, long.MaxValue - 1), location);
            Assert.False(index.TryGet(1, 2, out _));
            Assert.Equal(1, index.LastEntryId(1));
            Assert.Equal(0, index.LastEntryId(2));

            var info = index.GetInfo(1);
            Assert.NotNull(info);
            Assert.True(info.Fenced);
            Assert.Equal(0, info.LastAddConfirmed);
            Assert.Equal(masterKey, info.MasterKey);
            Assert.Equal(LedgerInfo.Empty, index.GetInfo(2));
            Assert.Null(index.GetInfo(3));
            Assert.Equal([1L, 2L], index.Ledgers());
        }
    }

    [Fact]
    public void Delete_ledger_removes_its_entries_and_info_and_nothing_else_even_after_reopen()
    {
        using (var index = Open())
        {
            foreach (var ledgerId in new[] { 4L, 5L, 6L })
            {
                for (var entryId = 0L; entryId < 300; entryId++)
                {
                    index.Put(ledgerId, entryId, new EntryLocation(ledgerId, entryId));
                }

                index.SetInfo(ledgerId, new LedgerInfo(LastAddConfirmed: 299));
            }

            index.DeleteLedger(5);
            Assert.Null(index.LastEntryId(5));
            index.Flush();
        }

        using (var index = Open())
        {
            Assert.False(index.TryGet(5, 0, out _));
            Assert.False(index.TryGet(5, 299, out _));
            Assert.Null(index.LastEntryId(5));
            Assert.Null(index.GetInfo(5));
            Assert.Empty(index.Entries(5));
            Assert.Equal(299, index.LastEntryId(4));
            Assert.Equal(299, index.LastEntryId(6));
            Assert.Equal(300, index.Entries(6).Count());
            Assert.Equal([4L, 6L], index.Ledgers());
        }
    }

    [Fact]
    public void Keys_sort_by_ledger_then_entry_across_byte_boundaries_and_ledger_ids_above_two_to_the_32()
    {
        long[] ledgerIds = [255, 256, 1, (1L << 32) + 1, 1L << 32, 1L << 40, 0, long.MaxValue];
        long[] entryIds = [256, 0, 255, 65_536, 1L << 33, 511, 1];
        using var index = Open();
        foreach (var ledgerId in ledgerIds)
        {
            index.PutBatch(entryIds.Select(entryId => new LedgerIndexEntry(ledgerId, entryId, new EntryLocation(ledgerId, entryId))).ToArray());
        }

        Assert.Equal(ledgerIds.Order(), index.Ledgers());
        foreach (var ledgerId in ledgerIds)
        {
            Assert.Equal(entryIds.Order(), index.Entries(ledgerId).Select(e => e.EntryId));
            Assert.Equal(1L << 33, index.LastEntryId(ledgerId));
        }

        index.DeleteLedger(256);
        Assert.Null(index.LastEntryId(256));
        Assert.Equal(1L << 33, index.LastEntryId(255));
        Assert.Equal(entryIds.Length, index.Entries(1L << 32).Count());
    }

    [Fact]
    public void Last_entry_id_is_null_for_a_ledger_without_entries_between_two_that_have_some()
    {
        using var index = Open();
        index.Put(10, 256, new EntryLocation(0, 32));
        index.Put(12, 0, new EntryLocation(0, 64));
        Assert.Null(index.LastEntryId(11));
        Assert.Null(index.LastEntryId(9));
        Assert.Null(index.LastEntryId(13));
        Assert.Equal(256, index.LastEntryId(10));
        index.SetInfo(11, LedgerInfo.Empty);
        Assert.Equal([10L, 11L, 12L], index.Ledgers());
    }

    [Fact]
    public void Ledger_info_keeps_null_empty_and_long_master_keys_apart()
    {
        using var index = Open();
        index.SetInfo(1, new LedgerInfo(MasterKey: null));
        index.SetInfo(2, new LedgerInfo(MasterKey: []));
        index.SetInfo(3, new LedgerInfo(MasterKey: Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray()));
        Assert.Null(index.GetInfo(1)!.MasterKey);
        Assert.Empty(index.GetInfo(2)!.MasterKey!);
        Assert.Equal(1000, index.GetInfo(3)!.MasterKey!.Length);
        Assert.Equal(-1, index.GetInfo(1)!.LastAddConfirmed);
    }

    private LedgerIndex Open() => LedgerIndex.Open(_directory.Path);
}
