using System.Buffers;

namespace Tiered.Bookie.Storage;

internal sealed partial class EntryLogger
{
    private const int RelocationsPerFlush = 1 << 16;

    /// <summary>
    /// Garbage-collects one log that is not the current one: copies the entries of live ledgers into the
    /// current log, reports their new locations, then deletes the old file. Writer thread only (it appends).
    /// </summary>
    /// <param name="logId">The log to compact.</param>
    /// <param name="isLedgerLive">Whether a ledger's entries must be kept.</param>
    /// <param name="relocated">Called for each moved entry once its copy is fsynced; the caller updates its index.</param>
    /// <param name="makeIndexDurable">Called after the last <paramref name="relocated"/> and before the old file
    /// is deleted; it must make the index updates durable (e.g. <see cref="LedgerIndex.Flush"/>), or a crash
    /// could leave the index pointing at a deleted file.</param>
    /// <exception cref="InvalidDataException">The log is damaged part-way; its live entries before the damage were moved and reported, but the file is kept.</exception>
    public EntryLogCompactionResult Compact(long logId, Func<long, bool> isLedgerLive, Action<long, long, EntryLocation> relocated, Action makeIndexDurable)
    {
        ArgumentNullException.ThrowIfNull(isLedgerLive);
        ArgumentNullException.ThrowIfNull(relocated);
        ArgumentNullException.ThrowIfNull(makeIndexDurable);
        if (logId == CurrentLogId)
        {
            throw new InvalidOperationException($"Entry log {logId} is the current log and cannot be compacted.");
        }

        var handle = GetReadHandle(logId);
        var reclaimed = RandomAccess.GetLength(handle);
        var pending = new List<(long LedgerId, long EntryId, EntryLocation Location)>();
        var buffer = ArrayPool<byte>.Shared.Rent(64 << 10);
        long moved = 0, movedBytes = 0, dropped = 0, scannedEnd = EntryLogFormat.FileHeaderSize;
        try
        {
            foreach (var entry in Scan(logId))
            {
                scannedEnd = entry.Location.Offset + entry.RecordBytes;
                if (!isLedgerLive(entry.LedgerId))
                {
                    dropped++;
                    continue;
                }

                if (buffer.Length < entry.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(entry.Length);
                }

                var payload = buffer.AsSpan(0, entry.Length);
                if (ReadFully(handle, payload, entry.Location.Offset + EntryLogFormat.RecordHeaderSize) < entry.Length)
                {
                    throw Corrupt(entry.Location, "record ends past the end of the file");
                }

                pending.Add((entry.LedgerId, entry.EntryId, Append(entry.LedgerId, entry.EntryId, payload)));
                moved++;
                movedBytes += entry.RecordBytes;
                if (pending.Count >= RelocationsPerFlush)
                {
                    ReportRelocations(pending, relocated);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        ReportRelocations(pending, relocated);
        if (scannedEnd != reclaimed)
        {
            // Without per-record checksums a damaged length hides every record after it; deleting the
            // file would lose them, so keep it (the moved copies are harmless duplicates).
            throw new InvalidDataException($"Entry log {LogPath(logId)}: records stop making sense at offset {scannedEnd} of {reclaimed} bytes; not deleting it.");
        }

        makeIndexDurable();
        DeleteLog(logId);
        return new EntryLogCompactionResult(logId, moved, movedBytes, dropped, reclaimed);
    }

    private void ReportRelocations(List<(long LedgerId, long EntryId, EntryLocation Location)> pending, Action<long, long, EntryLocation> relocated)
    {
        if (pending.Count == 0)
        {
            return;
        }

        Flush();
        foreach (var (ledgerId, entryId, location) in pending)
        {
            relocated(ledgerId, entryId, location);
        }

        pending.Clear();
    }
}
