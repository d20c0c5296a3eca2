using RocksDbSharp;

namespace Tiered.Bookie.Storage;

/// <summary>
/// The bookie's RocksDB index: column family <c>entries</c> maps (ledgerId, entryId) to the
/// <see cref="EntryLocation"/> of the entry in the entry logs; column family <c>ledgers</c> holds each
/// ledger's <see cref="LedgerInfo"/>.
/// </summary>
/// <remarks>
/// Durability: writes go through RocksDB's write-ahead log without fsync, so they survive a process
/// crash (kill -9) at once but a machine crash only after <see cref="Flush"/>, which fsyncs the WAL and
/// so makes every earlier write durable. That costs one fsync per bookie checkpoint instead of one per
/// batch, and is cheaper than a memtable flush, which would write SST files and fragment them.
/// All members are safe to call from any thread.
/// </remarks>
internal sealed partial class LedgerIndex : IDisposable
{
    private const string EntriesFamily = "entries";
    private const string LedgersFamily = "ledgers";

    private readonly RocksDb _db;
    private readonly ColumnFamilyHandle _entries;
    private readonly ColumnFamilyHandle _ledgers;
    private readonly WriteOptions _asyncWrite = new WriteOptions().SetSync(false);
    private readonly WriteOptions _syncWrite = new WriteOptions().SetSync(true);

    private LedgerIndex(RocksDb db)
    {
        _db = db;
        _entries = db.GetColumnFamily(EntriesFamily);
        _ledgers = db.GetColumnFamily(LedgersFamily);
    }

    /// <summary>The folder the RocksDB files live in.</summary>
    public string Directory => _db.Path;

    /// <summary>Opens (creating if missing) the index in <paramref name="directory"/>.</summary>
    public static LedgerIndex Open(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        System.IO.Directory.CreateDirectory(directory);
        var options = new DbOptions()
            .SetCreateIfMissing(true)
            .SetCreateMissingColumnFamilies(true)
            .SetWalRecoveryMode(Recovery.PointInTime);
        var families = new ColumnFamilies
        {
            { EntriesFamily, new ColumnFamilyOptions() },
            { LedgersFamily, new ColumnFamilyOptions() },
        };
        return new LedgerIndex(RocksDb.Open(options, directory, families));
    }

    /// <summary>Makes every write made so far durable against a machine crash (fsyncs RocksDB's WAL).</summary>
    public void Flush() => Native.Instance.rocksdb_flush_wal(_db.Handle, 1);

    public void Dispose() => _db.Dispose();
}
