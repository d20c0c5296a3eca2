namespace Tiered.ManagedLedgers;

/// <summary>How a managed ledger writes, rolls over and caches. Defaults follow Pulsar's.</summary>
public sealed record ManagedLedgerOptions
{
    public int EnsembleSize { get; init; } = 3;
    public int WriteQuorum { get; init; } = 2;
    public int AckQuorum { get; init; } = 2;

    /// <summary>Roll over to a new ledger after this many entries.</summary>
    public long MaxEntriesPerLedger { get; init; } = 50_000;

    /// <summary>Roll over to a new ledger after this many bytes.</summary>
    public long MaxSizePerLedger { get; init; } = 2L * 1024 * 1024 * 1024;

    /// <summary>Roll over a ledger that is older than this (checked when an entry is added).</summary>
    public TimeSpan MaxLedgerAge { get; init; } = TimeSpan.FromHours(4);

    /// <summary>Recently added entries kept in memory so tailing readers do not go to the bookies.</summary>
    public long EntryCacheBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Cached entries older than this are dropped (on the next add, or by <see cref="ManagedLedger.EvictCache"/>).</summary>
    public TimeSpan EntryCacheMaxAge { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After a new ledger could not be created, or failed before confirming an entry, the next one
    /// is started no sooner than this; each further failure in a row doubles the wait.
    /// </summary>
    public TimeSpan LedgerCreationBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between new ledgers while they keep failing (bounds the stall once bookies are back).</summary>
    public TimeSpan MaxLedgerCreationBackoff { get; init; } = TimeSpan.FromSeconds(2);


    public void Validate()
    {
        if (EnsembleSize < 1 || WriteQuorum < 1 || AckQuorum < 1 || WriteQuorum > EnsembleSize || AckQuorum > WriteQuorum)
            throw new ArgumentException($"Ensemble {EnsembleSize}, write quorum {WriteQuorum}, ack quorum {AckQuorum}: need ensemble >= write quorum >= ack quorum >= 1.");
        if (MaxEntriesPerLedger < 1)
            throw new ArgumentException($"MaxEntriesPerLedger must be at least 1 (was {MaxEntriesPerLedger}).");
        if (MaxSizePerLedger < 1)
            throw new ArgumentException($"MaxSizePerLedger must be at least 1 byte (was {MaxSizePerLedger}).");
        if (MaxLedgerAge <= TimeSpan.Zero)
            throw new ArgumentException($"MaxLedgerAge must be positive (was {MaxLedgerAge}).");
        if (EntryCacheBytes < 0)
            throw new ArgumentException($"EntryCacheBytes must not be negative (was {EntryCacheBytes}).");
        if (LedgerCreationBackoff <= TimeSpan.Zero || MaxLedgerCreationBackoff < LedgerCreationBackoff || MaxLedgerCreationBackoff > TimeSpan.FromMinutes(10))
            throw new ArgumentException($"LedgerCreationBackoff must be positive and MaxLedgerCreationBackoff between it and 10 minutes (were {LedgerCreationBackoff} and {MaxLedgerCreationBackoff}).");
        if (EntryCacheMaxAge < TimeSpan.Zero)
            throw new ArgumentException($"EntryCacheMaxAge must not be negative (was {EntryCacheMaxAge}).");
    }
}
