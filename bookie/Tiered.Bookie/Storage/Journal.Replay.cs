namespace Tiered.Bookie.Storage;

/// <summary>Reading the journal back: replay after a restart, and finding the newest file's good end at open.</summary>
internal sealed partial class Journal
{
    /// <summary>
    /// Every complete record at or after <paramref name="from"/> (a position the journal returned, or
    /// <see cref="JournalPosition.Start"/>), in order, across files, up to the <see cref="DurableEnd"/> of
    /// the moment of the call. A bad record in an older file throws <see cref="InvalidDataException"/>
    /// naming the file and offset; each record's payload is valid only until the enumeration moves on.
    /// </summary>
    public IEnumerable<JournalRecord> Replay(JournalPosition from)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var end = DurableEnd;
        var files = JournalFormat.ListFiles(_options.Directory).FindAll(id => id >= from.FileId && id <= end.FileId);
        for (var i = 1; i < files.Count; i++)
        {
            if (files[i] != files[i - 1] + 1)
            {
                throw new InvalidDataException(
                    $"Journal file {JournalFormat.FilePath(_options.Directory, files[i - 1] + 1)} is missing " +
                    $"between {JournalFormat.FileName(files[i - 1])} and {JournalFormat.FileName(files[i])}.");
            }
        }

        return ReplayFiles(files, from, end);
    }

    private IEnumerable<JournalRecord> ReplayFiles(List<long> files, JournalPosition from, JournalPosition end)
    {
        foreach (var fileId in files)
        {
            var newest = fileId == end.FileId;
            var start = fileId == from.FileId ? from.Offset : 0;
            var bound = newest ? end.Offset : long.MaxValue;
            using var reader = JournalFileReader.Open(JournalFormat.FilePath(_options.Directory, fileId), fileId, start, bound);
            while (true)
            {
                var offset = reader.Offset;
                var result = reader.ReadNext(out var payload);
                if (result == JournalReadResult.Record)
                {
                    yield return new JournalRecord(new JournalPosition(fileId, offset), payload);
                }
                else if (result == JournalReadResult.End || newest)
                {
                    break;
                }
                else
                {
                    throw new InvalidDataException(
                        $"Journal file {reader.Path} is corrupt at offset {reader.Offset}: {reader.Problem}. " +
                        "Only the tail of the newest journal file may be incomplete; records after this point cannot be replayed.");
                }
            }
        }
    }

    /// <summary>Where the last complete record of the newest file ends, and what (if anything) follows it.</summary>
    private static (long End, string? Reason, bool RewriteHeader) FindEndOfNewestFile(JournalOptions options, long fileId)
    {
        var path = JournalFormat.FilePath(options.Directory, fileId);
        using var reader = JournalFileReader.Open(path, fileId, 0, long.MaxValue);
        while (true)
        {
            var result = reader.ReadNext(out _);
            if (result == JournalReadResult.End)
            {
                return (reader.Offset, null, false);
            }

            if (result == JournalReadResult.Invalid)
            {
                if (reader.Offset >= JournalFormat.HeaderSize)
                {
                    return (reader.Offset, $"{reader.Problem} at offset {reader.Offset} of {path}", false);
                }

                // A crash while the file was being created leaves a short header and nothing after it.
                if (new FileInfo(path).Length > JournalFormat.HeaderSize)
                {
                    throw new InvalidDataException($"Journal file {path} has a bad header: {reader.Problem}.");
                }

                return (JournalFormat.HeaderSize, $"torn header ({reader.Problem}) of {path}", true);
            }
        }
    }
}
