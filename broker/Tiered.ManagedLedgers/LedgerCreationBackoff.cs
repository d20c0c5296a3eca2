namespace Tiered.ManagedLedgers;

/// <summary>
/// Paces new ledgers after failures. While bookies are failing (a crashed one is still registered
/// until its session expires, so new ledgers may be placed on it), each new ledger can fail at
/// once, and rolling to the next one at the pace of adds would create and delete several empty
/// ledgers a second per topic. After each failure in a row the next ledger may only be started
/// after a delay that doubles from <see cref="ManagedLedgerOptions.LedgerCreationBackoff"/> up to
/// <see cref="ManagedLedgerOptions.MaxLedgerCreationBackoff"/>; adds meanwhile fail at once (the
/// producer may resend). A failure: a new ledger could not be created or stored, or a ledger
/// failed before confirming any entry. The first confirmed entry ends the backoff. Not
/// thread-safe: the managed ledger calls it under its lock.
/// </summary>
internal sealed class LedgerCreationBackoff(TimeSpan initial, TimeSpan max, TimeProvider time)
{
    private int _failures;
    private long _notBefore;

    /// <summary>Failures in a row.</summary>
    public int Failures => _failures;

    /// <summary>A ledger could not be created, or failed without confirming any entry.</summary>
    public void Failed()
    {
        _failures++;
        _notBefore = time.GetTimestamp() + (long)(Delay(_failures).TotalSeconds * time.TimestampFrequency);
    }

    /// <summary>An entry was confirmed: ledgers work again.</summary>
    public void Succeeded() => _failures = 0;

    /// <summary>How long until a new ledger may be started (zero: now).</summary>
    public TimeSpan Remaining()
    {
        if (_failures == 0)
            return TimeSpan.Zero;
        var left = _notBefore - time.GetTimestamp();
        return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)left / time.TimestampFrequency);
    }

    /// <summary>The wait after <paramref name="failures"/> failures in a row: initial × 2^(failures−1), at most max.</summary>
    public TimeSpan Delay(int failures)
    {
        if (failures <= 0)
            return TimeSpan.Zero;
        var shift = Math.Min(failures - 1, 62);
        return initial.Ticks > max.Ticks >> shift ? max : TimeSpan.FromTicks(initial.Ticks << shift);
    }
}
