namespace Tiered.Bookie.Storage;

/// <summary>Test seams in the journal's writer; production code passes none.</summary>
internal sealed class JournalTestHooks
{
    /// <summary>Runs on the writer before each write to a journal file; throw to simulate a failed write.</summary>
    public Action? BeforeWrite { get; init; }

    /// <summary>Runs on the writer after a group is written and before it is flushed to disk.</summary>
    public Func<ValueTask>? BeforeFlush { get; init; }
}
