namespace Tiered.Bookie.Storage;

/// <summary>
/// How the bookie's journal writes. The flush threshold follows BookKeeper (512 KiB); unlike
/// BookKeeper's 2 ms group wait, the default is not to wait at all: records that arrive while an
/// fsync runs form the next group, which groups just as well under load and costs a lone add no
/// timer (timers on small VMs fire 4 ms late, 20× an fsync).
/// </summary>
/// <param name="Directory">Where the journal files live; created if missing. Ideally its own disk.</param>
internal sealed record JournalOptions(string Directory)
{
    /// <summary>Largest record payload the journal accepts (a 5 MiB entry plus the bookie's framing).</summary>
    public const int MaxRecordBytes = 6 * 1024 * 1024;

    /// <summary>How long the writer waits for more records after the first of a group arrived (0: write at once).</summary>
    public TimeSpan MaxGroupWait { get; init; } = TimeSpan.Zero;

    /// <summary>A group is written as soon as this many bytes are queued, without waiting longer; one group holds at most four times this.</summary>
    public int FlushThresholdBytes { get; init; } = 512 * 1024;

    /// <summary>Default of <see cref="MaxFileBytes"/> and of <see cref="PreallocationBytes"/>: 256 MiB.</summary>
    public const long DefaultMaxFileBytes = 256L * 1024 * 1024;

    /// <summary>A journal file is closed and a new one started once it would grow past this size.</summary>
    public long MaxFileBytes { get; init; } = DefaultMaxFileBytes;

    /// <summary>When this many record bytes wait to be written, <see cref="Journal.AppendAsync"/> waits (back-pressure).</summary>
    public long QueueCapacityBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Write with direct I/O (Linux <c>O_DIRECT</c>, whole 4 KiB blocks) where the file system offers it, not through
    /// the page cache. Off, each write is exactly the new records (a file then ends exactly after its last record).
    /// </summary>
    public bool WriteDirectly { get; init; } = true;

    /// <summary>Reserve disk space when a file is created (fallocate): <see cref="PreallocationBytes"/>, at most <see cref="MaxFileBytes"/>.</summary>
    public bool Preallocate { get; init; } = true;

    /// <summary>
    /// Disk space reserved for each new journal file (fallocate), so that appends do not allocate
    /// blocks; 0 reserves none. The journal directory needs at least this much free space.
    /// </summary>
    public long PreallocationBytes { get; init; } = DefaultMaxFileBytes;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("Journal directory must be set.", nameof(Directory));
        }

        if (MaxGroupWait < TimeSpan.Zero || MaxGroupWait > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException(
                $"Journal MaxGroupWait must be between 0 and 1 s, was {MaxGroupWait.TotalMilliseconds} ms.", nameof(MaxGroupWait));
        }

        if (FlushThresholdBytes < 1)
        {
            throw new ArgumentException(
                $"Journal FlushThresholdBytes must be positive, was {FlushThresholdBytes}.", nameof(FlushThresholdBytes));
        }

        if (MaxFileBytes < 4096)
        {
            throw new ArgumentException(
                $"Journal MaxFileBytes must be at least 4096, was {MaxFileBytes}.", nameof(MaxFileBytes));
        }

        if (PreallocationBytes < 0)
        {
            throw new ArgumentException(
                $"Journal PreallocationBytes must not be negative, was {PreallocationBytes}.", nameof(PreallocationBytes));
        }

        if (QueueCapacityBytes < FlushThresholdBytes)
        {
            throw new ArgumentException(
                $"Journal QueueCapacityBytes ({QueueCapacityBytes}) must be at least FlushThresholdBytes ({FlushThresholdBytes}).",
                nameof(QueueCapacityBytes));
        }
    }
}
