namespace Tiered.Bookie.Storage;

/// <summary>How the bytes of one entry log split across ledgers; picks compaction candidates.</summary>
/// <param name="LogId">The log.</param>
/// <param name="TotalBytes">Record bytes in the log, headers included (the file header excluded).</param>
/// <param name="BytesByLedger">Record bytes per ledger.</param>
internal sealed record EntryLogUsage(long LogId, long TotalBytes, IReadOnlyDictionary<long, long> BytesByLedger)
{
    /// <summary>Fraction of <see cref="TotalBytes"/> that belongs to live ledgers (1 for an empty log).</summary>
    public double LiveFraction(Func<long, bool> isLedgerLive)
    {
        ArgumentNullException.ThrowIfNull(isLedgerLive);
        if (TotalBytes == 0)
        {
            return 1;
        }

        long live = 0;
        foreach (var (ledgerId, bytes) in BytesByLedger)
        {
            if (isLedgerLive(ledgerId))
            {
                live += bytes;
            }
        }

        return (double)live / TotalBytes;
    }
}
