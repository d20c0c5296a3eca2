namespace Tiered.ManagedLedgers;

/// <summary>
/// A hold on one add (<see cref="ManagedLedger.AddEntryAsync(ReadOnlyMemory{byte}, long, out AddHandle, CancellationToken)"/>)
/// for a caller that looks at its outcome apart from awaiting it: the broker's de-duplication polls the adds it handed
/// over, in order, and answers a resend of a batch still being stored with the original's outcome. Adds are pooled:
/// the handle keeps its add (and the outcome) from being reused until <see cref="Release"/>. Use a handle only until
/// it is released, release it once, and give a second holder its own with <see cref="Share"/> (a copy by assignment
/// is the same hold). The default handle holds nothing.
/// </summary>
public readonly struct AddHandle
{
    private readonly ManagedLedger.PendingAdd? _add;
    private readonly short _version;
    private readonly Exception? _refused;

    internal AddHandle(ManagedLedger.PendingAdd add, short version) => (_add, _version) = (add, version);

    private AddHandle(Exception refused) => _refused = refused;

    /// <summary>An add refused before it was queued (the managed ledger stopped, or an earlier add failed).</summary>
    internal static AddHandle Refused(Exception error) => new(error);

    /// <summary>The default handle: no add.</summary>
    public bool IsEmpty => _add is null && _refused is null;

    /// <summary>Whether the add completed (stored or failed); a refused add did at once.</summary>
    public bool IsCompleted => _add is null || _add.TryGetOutcome(_version, out _, out _);

    /// <summary>The add's outcome once it completed: its position, or the error its caller got.</summary>
    public bool TryGetOutcome(out Position position, out Exception? error)
    {
        if (_add is null)
        {
            (position, error) = (default, _refused);
            return true;
        }
        return _add.TryGetOutcome(_version, out position, out error);
    }

    /// <summary>
    /// A further waiter for the add's outcome (any number of them, while the handle is held): completes with its position
    /// or fails with its error. A task is made only for an add still in flight, and shared by its waiters.
    /// </summary>
    public ValueTask<Position> WaitAsync()
    {
        if (_add is not null)
            return _add.WaitAsync(_version);
        return _refused is null ? ValueTask.FromResult(default(Position)) : ValueTask.FromException<Position>(_refused);
    }

    /// <summary>Another hold on the same add, released on its own.</summary>
    public AddHandle Share()
    {
        _add?.Hold(_version);
        return this;
    }

    /// <summary>Lets go of the add (no-op for the default handle). Once per hold.</summary>
    public void Release() => _add?.Release(_version);
}
