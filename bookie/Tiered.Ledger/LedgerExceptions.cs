namespace Tiered.Ledger;

/// <summary>A ledger operation failed: a bookie refused or was unreachable, or the ledger is in the wrong state.</summary>
public class LedgerException : Exception
{
    public LedgerException(string message, Exception? innerException = null) : base(message, innerException) { }

    /// <summary>A fresh exception with the same meaning, so one failure can be thrown to many callers.</summary>
    internal virtual LedgerException Copy() => new(Message, InnerException);
}

/// <summary>A recovering reader fenced the ledger: this writer must stop; its unconfirmed adds may or may not be in the ledger.</summary>
public sealed class LedgerFencedException : LedgerException
{
    public LedgerFencedException(long ledgerId)
        : this(ledgerId, $"Ledger {ledgerId} was fenced by a recovering reader; this writer can add no more entries.")
    {
    }

    public LedgerFencedException(long ledgerId, string message)
        : base(message) => LedgerId = ledgerId;

    public long LedgerId { get; }

    internal override LedgerException Copy() => new LedgerFencedException(LedgerId, Message);
}

/// <summary>No ledger with this id exists in the metadata service.</summary>
public sealed class LedgerNotFoundException(long ledgerId)
    : LedgerException($"Ledger {ledgerId} does not exist (no metadata at {LedgerMetadataStore.Key(ledgerId)}).")
{
    public long LedgerId { get; } = ledgerId;

    internal override LedgerException Copy() => new LedgerNotFoundException(LedgerId);
}
