namespace Tiered.Bookie.Storage;

internal sealed partial class EntryLogger
{
    /// <summary>
    /// Every whole record of a log, in file order, stopping quietly at a torn tail. For the current log it
    /// covers what has reached the file (call <see cref="Flush"/> first to include buffered appends).
    /// Used to rebuild the index and to find garbage; safe from any thread.
    /// </summary>
    /// <exception cref="InvalidDataException">The file header is damaged.</exception>
    public IEnumerable<EntryLogEntry> Scan(long logId)
    {
        long limit;
        lock (_sync)
        {
            limit = logId == _currentLogId ? _bufferFileOffset : long.MaxValue;
        }

        return ScanFile(LogPath(logId), logId, limit);
    }

    /// <summary>Bytes per ledger in a log, from a <see cref="Scan"/>.</summary>
    public EntryLogUsage Usage(long logId)
    {
        var bytesByLedger = new Dictionary<long, long>();
        long total = 0;
        foreach (var entry in Scan(logId))
        {
            total += entry.RecordBytes;
            bytesByLedger[entry.LedgerId] = bytesByLedger.GetValueOrDefault(entry.LedgerId) + entry.RecordBytes;
        }

        return new EntryLogUsage(logId, total, bytesByLedger);
    }

    private static IEnumerable<EntryLogEntry> ScanFile(string path, long logId, long limit)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 20, FileOptions.SequentialScan);
        limit = Math.Min(limit, stream.Length);
        var header = new byte[EntryLogFormat.FileHeaderSize];
        var headerRead = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        var problem = EntryLogFormat.CheckFileHeader(header.AsSpan(0, headerRead), logId);
        if (problem is not null)
        {
            throw new InvalidDataException($"Entry log {path}: {problem}.");
        }

        long position = EntryLogFormat.FileHeaderSize;
        var recordHeader = header.AsMemory(0, EntryLogFormat.RecordHeaderSize);
        while (position + EntryLogFormat.RecordHeaderSize <= limit)
        {
            stream.ReadExactly(recordHeader.Span);
            var (length, ledgerId, entryId) = EntryLogFormat.ReadRecordHeader(recordHeader.Span);
            var end = position + EntryLogFormat.RecordHeaderSize + length;
            if (!EntryLogFormat.IsPlausible(length, ledgerId, entryId) || end > limit)
            {
                yield break;
            }

            yield return new EntryLogEntry(ledgerId, entryId, new EntryLocation(logId, position), (int)length);
            stream.Seek(length, SeekOrigin.Current);
            position = end;
        }
    }
}
