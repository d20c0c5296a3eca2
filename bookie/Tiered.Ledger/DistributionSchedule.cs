namespace Tiered.Ledger;

/// <summary>
/// Striping of a ledger's entries over its ensemble: entry e is stored by the bookies at
/// positions (e + i) mod E for i &lt; Qw, and is confirmed once Qa of them acknowledged it.
/// Consecutive entries start at consecutive bookies, so load spreads over all E bookies.
/// </summary>
public readonly record struct DistributionSchedule
{
    /// <summary>Largest ensemble we accept; BookKeeper users rarely go past a handful.</summary>
    public const int MaxEnsembleSize = 64;

    public DistributionSchedule(int ensembleSize, int writeQuorum, int ackQuorum)
    {
        if (ackQuorum < 1 || writeQuorum < ackQuorum || ensembleSize < writeQuorum || ensembleSize > MaxEnsembleSize)
            throw new ArgumentException(
                $"Invalid quorums E={ensembleSize}, Qw={writeQuorum}, Qa={ackQuorum}: they must satisfy {MaxEnsembleSize} >= E >= Qw >= Qa >= 1.");
        (EnsembleSize, WriteQuorum, AckQuorum) = (ensembleSize, writeQuorum, ackQuorum);
    }

    public int EnsembleSize { get; }

    public int WriteQuorum { get; }

    public int AckQuorum { get; }

    /// <summary>Ensemble position of the <paramref name="replica"/>-th copy (0 ≤ replica &lt; Qw) of <paramref name="entryId"/>.</summary>
    public int BookieIndex(long entryId, int replica) => (int)((entryId + replica) % EnsembleSize);

    /// <summary>Whether the bookie at <paramref name="bookieIndex"/> is one of the Qw that store <paramref name="entryId"/>.</summary>
    public bool Stores(long entryId, int bookieIndex)
    {
        var distance = (bookieIndex - (int)(entryId % EnsembleSize) + EnsembleSize) % EnsembleSize;
        return distance < WriteQuorum;
    }

    /// <summary>
    /// How many bookies must say "no such entry" before the entry is certainly absent from the
    /// ledger: if fewer than Qa copies can remain among the others, it was never confirmed.
    /// </summary>
    public int AbsenceQuorum => WriteQuorum - AckQuorum + 1;
}
