namespace Tiered.ManagedLedgers;

/// <summary>A managed ledger operation failed; the message says why.</summary>
public class ManagedLedgerException : Exception
{
    public ManagedLedgerException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// Another owner took the managed ledger over (its ledger was fenced, or its stored state
/// changed under us). This instance stops; the topic must be opened again.
/// </summary>
public sealed class ManagedLedgerFencedException(string message, Exception? inner = null) : ManagedLedgerException(message, inner);

/// <summary>The managed ledger or cursor was closed or deleted.</summary>
public sealed class ManagedLedgerClosedException(string message) : ManagedLedgerException(message);
