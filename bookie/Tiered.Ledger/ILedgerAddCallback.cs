namespace Tiered.Ledger;

/// <summary>
/// Receives the outcome of an add made with <see cref="LedgerWriter.AddEntry"/>: what a caller with many adds in flight
/// uses instead of a task per add (the managed ledger: its add object is the callback, nothing is allocated per add).
/// </summary>
public interface ILedgerAddCallback
{
    /// <summary>
    /// Called once per add, by the writer's completion loop (never under the writer's lock, never on a bookie's receive
    /// loop): confirmed adds in entry order. <paramref name="error"/> is null when the add was confirmed as entry
    /// <paramref name="entryId"/>; otherwise the add failed (<see cref="LedgerFencedException"/>: fenced) and
    /// <paramref name="entryId"/> is the id it had, or -1 when it was refused before it got one (the writer was
    /// closing or had failed). It must not block: the next completions wait for it.
    /// </summary>
    void AddCompleted(long entryId, Exception? error);
}
