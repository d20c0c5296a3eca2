using Tiered.Metadata;

namespace Tiered.Ledger;

/// <summary>
/// Where every ledger's copies are, as the metadata service says, at one moment: which ledgers name
/// each bookie, and which of them are under-replicated because of it. A copy counts toward a ledger's
/// write quorum only on a bookie that is registered (available or read-only) and not being
/// decommissioned; a ledger whose ensembles name any other bookie has fewer than Qw copies of some
/// entries until auto-recovery copies them (BookKeeper's "under-replicated ledger").
/// </summary>
/// <param name="Registered">Bookies registered now (available or read-only).</param>
/// <param name="Writable">Bookies registered as available (accepting adds).</param>
/// <param name="Decommissioning">Bookies being decommissioned (their persistent keys).</param>
/// <param name="LedgersNaming">For every bookie that some ledger's ensemble names: how many ledgers name it.</param>
/// <param name="UnderReplicatedByBookie">For every bookie named by a ledger that is lost (not registered) or being decommissioned: how many ledgers still name it.</param>
/// <param name="UnderReplicatedLedgers">Distinct ledgers that name a lost or decommissioning bookie.</param>
/// <param name="MaxEnsembleSize">The largest ensemble size of any ledger (0 when there is none).</param>
public sealed record ReplicationReport(
    IReadOnlySet<string> Registered,
    IReadOnlySet<string> Writable,
    IReadOnlySet<string> Decommissioning,
    IReadOnlyDictionary<string, int> LedgersNaming,
    IReadOnlyDictionary<string, int> UnderReplicatedByBookie,
    int UnderReplicatedLedgers,
    int MaxEnsembleSize)
{
    /// <summary>Reads the registrations, the decommissions and every ledger's metadata, and counts.</summary>
    public static async Task<ReplicationReport> ReadAsync(IMetadataStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var available = await store.ListChildrenAsync(BookiePaths.Available, cancellationToken: cancellationToken).ConfigureAwait(false);
        var readOnly = await store.ListChildrenAsync(BookiePaths.ReadOnly, cancellationToken: cancellationToken).ConfigureAwait(false);
        var decommissioning = await store.ListChildrenAsync(BookiePaths.Decommissioning, cancellationToken: cancellationToken).ConfigureAwait(false);
        var ledgers = await new LedgerMetadataStore(store).ListAllAsync(cancellationToken).ConfigureAwait(false);
        return Count([.. available, .. readOnly], [.. available], [.. decommissioning], ledgers.Select(l => l.Metadata));
    }

    internal static ReplicationReport Count(HashSet<string> registered, HashSet<string> writable, HashSet<string> decommissioning, IEnumerable<Bookie.V1.LedgerMetadata> ledgers)
    {
        var naming = new Dictionary<string, int>(StringComparer.Ordinal);
        var under = new Dictionary<string, int>(StringComparer.Ordinal);
        var underLedgers = 0;
        var maxEnsemble = 0;
        foreach (var ledger in ledgers)
        {
            maxEnsemble = Math.Max(maxEnsemble, ledger.EnsembleSize);
            var named = ledger.Segments.SelectMany(s => s.Bookies).ToHashSet(StringComparer.Ordinal);
            var underReplicated = false;
            foreach (var bookie in named)
            {
                naming[bookie] = naming.GetValueOrDefault(bookie) + 1;
                if (!registered.Contains(bookie) || decommissioning.Contains(bookie))
                {
                    under[bookie] = under.GetValueOrDefault(bookie) + 1;
                    underReplicated = true;
                }
            }
            if (underReplicated)
                underLedgers++;
        }
        return new ReplicationReport(registered, writable, decommissioning, naming, under, underLedgers, maxEnsemble);
    }

    /// <summary>Whether the cluster knows <paramref name="bookieId"/>: registered, named by a ledger, or being decommissioned.</summary>
    public bool Knows(string bookieId) => Registered.Contains(bookieId) || LedgersNaming.ContainsKey(bookieId) || Decommissioning.Contains(bookieId);
}
