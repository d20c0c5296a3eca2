namespace Tiered.Bookie.Storage;

/// <summary>Where and how the bookie writes its entry logs.</summary>
/// <param name="Directory">Folder holding the <c>{logId:x16}.log</c> files; created if missing.</param>
/// <param name="MaxLogBytes">A log rolls over to a new file once the next record would take it past this size.</param>
/// <param name="WriteBufferBytes">Size of the pooled buffer appends are gathered in before they reach the file.</param>
internal sealed record EntryLoggerOptions(string Directory, long MaxLogBytes = EntryLoggerOptions.DefaultMaxLogBytes, int WriteBufferBytes = EntryLoggerOptions.DefaultWriteBufferBytes)
{
    public const long DefaultMaxLogBytes = 1L << 30;

    public const int DefaultWriteBufferBytes = 1 << 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("EntryLoggerOptions.Directory must name a folder.", nameof(Directory));
        }

        if (MaxLogBytes < EntryLogFormat.FileHeaderSize + EntryLogFormat.RecordHeaderSize + 1)
        {
            throw new ArgumentException($"EntryLoggerOptions.MaxLogBytes must be at least {EntryLogFormat.FileHeaderSize + EntryLogFormat.RecordHeaderSize + 1} bytes, got {MaxLogBytes}.", nameof(MaxLogBytes));
        }

        if (WriteBufferBytes < 4096)
        {
            throw new ArgumentException($"EntryLoggerOptions.WriteBufferBytes must be at least 4096 bytes, got {WriteBufferBytes}.", nameof(WriteBufferBytes));
        }
    }
}
