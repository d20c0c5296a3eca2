namespace Tiered.Bookie.Storage;

/// <summary>One record found by <see cref="EntryLogger.Scan"/>: which entry it is, where, and its payload length.</summary>
internal readonly record struct EntryLogEntry(long LedgerId, long EntryId, EntryLocation Location, int Length)
{
    /// <summary>Bytes the record takes in the log, header included.</summary>
    public long RecordBytes => EntryLogFormat.RecordHeaderSize + (long)Length;
}
