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
    /// <summary>Without <see cref="_add"/>: the error of an add refused at once, or the task of <see cref="Of"/>.</summary>
    private readonly object? _other;

    internal AddHandle(ManagedLedger.PendingAdd add, short version) => (_add, _version) = (add, version);

    private AddHandle(object other) => _other = other;

    /// <summary>An add refused before it was queued (the managed ledger stopped, or an earlier add failed).</summary>
    internal static AddHandle Refused(Exception error) => new(error);

    /// <summary>A handle over a task (an add the caller completes itself, as tests of de-duplication do): nothing to release.</summary>
    public static AddHandle Of(Task<Position> add) => new(add);

    /// <summary>The default handle: no add.</summary>
    public bool IsEmpty => _add is null && _other is null;

    /// <summary>Whether the add completed (stored or failed); a refused add did at once.</summary>
    public bool IsCompleted => _add?.TryGetOutcome(_version, out _, out _) ?? (_other is not Task<Position> task || task.IsCompleted);

    /// <summary>The add's outcome once it completed: its position, or the error its caller got.</summary>
    public bool TryGetOutcome(out Position position, out Exception? error)
    {
        if (_add is not null)
            return _add.TryGetOutcome(_version, out position, out error);
        (position, error) = (default, _other as Exception);
        if (_other is not Task<Position> task)
            return true;
        if (!task.IsCompleted)
            return false;
        if (task.IsCompletedSuccessfully)
            position = task.Result;
        else
            error = task.Exception?.InnerException ?? new OperationCanceledException();
        return true;
    }

    /// <summary>
    /// A further waiter for the add's outcome (any number of them, while the handle is held): completes with its position
    /// or fails with its error. A task is made only for an add still in flight, and shared by its waiters.
    /// </summary>
    public ValueTask<Position> WaitAsync()
    {
        if (_add is not null)
            return _add.WaitAsync(_version);
        return _other switch
        {
            Task<Position> task => new ValueTask<Position>(task),
            Exception refused => ValueTask.FromException<Position>(refused),
            _ => ValueTask.FromResult(default(Position)),
        };
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
