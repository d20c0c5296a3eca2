using System.Text;

namespace Tiered.Ledger.Tests;

/// <summary>The entries the ledger tests write and check: entry i always has the same recognizable payload.</summary>
internal static class LedgerTestData
{
    public static byte[] Payload(long entryId) => Encoding.UTF8.GetBytes($"entry {entryId} " + new string((char)('a' + (entryId % 26)), (int)(entryId % 500)));

    /// <summary>Creates a ledger and adds <paramref name="entries"/> entries pipelined; checks they got ids 0..n-1.</summary>
    public static async Task<LedgerWriter> WriteAsync(LedgerClient client, int entries, int e = 3, int qw = 2, int qa = 2)
    {
        var writer = await client.CreateLedgerAsync(e, qw, qa);
        var adds = new Task<long>[entries];
        for (var i = 0; i < entries; i++)
            adds[i] = writer.AddEntryAsync(Payload(i)).AsTask();
        Assert.Equal(Enumerable.Range(0, entries).Select(i => (long)i), await Task.WhenAll(adds));
        return writer;
    }

    /// <summary>Every readable entry, in order (none for an empty ledger).</summary>
    public static async Task<List<LedgerEntry>> ReadAllAsync(LedgerReader reader)
    {
        var entries = new List<LedgerEntry>();
        if (reader.LastAddConfirmed < 0)
            return entries;
        await foreach (var entry in reader.ReadAsync(0, reader.LastAddConfirmed))
            entries.Add(entry);
        return entries;
    }

    public static void AssertEntries(int count, List<LedgerEntry> entries)
    {
        Assert.Equal(count, entries.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i, entries[i].EntryId);
            Assert.Equal(Payload(i), entries[i].Payload.ToArray());
        }
    }
}
