namespace Tiered.Ledger;

/// <summary>
/// Chooses bookies for ensembles: spread over as many hosts as possible (two copies of an entry
/// on one machine survive less than two on two machines), then at random so that load spreads.
/// Bookie ids are "HOST:PORT".
/// </summary>
public static class EnsemblePlacement
{
    /// <summary>Picks <paramref name="size"/> distinct bookies from <paramref name="available"/>, excluding <paramref name="exclude"/>.</summary>
    /// <exception cref="InsufficientBookiesException">Fewer than <paramref name="size"/> eligible bookies.</exception>
    public static List<string> Choose(IReadOnlyCollection<string> available, int size, IReadOnlySet<string>? exclude = null, Random? random = null)
    {
        random ??= Random.Shared;
        var candidates = available.Where(b => exclude is null || !exclude.Contains(b)).Distinct(StringComparer.Ordinal).ToList();
        if (candidates.Count < size)
            throw new InsufficientBookiesException(size, candidates.Count, available.Count);

        // Shuffle, then take round-robin over hosts so each host is used once before any is used twice.
        var shuffled = candidates.OrderBy(_ => random.Next()).ToList();
        var byHost = shuffled.GroupBy(Host, StringComparer.OrdinalIgnoreCase).Select(g => new Queue<string>(g)).ToList();
        var chosen = new List<string>(size);
        while (chosen.Count < size)
        {
            foreach (var host in byHost)
            {
                if (chosen.Count < size && host.TryDequeue(out var bookie))
                    chosen.Add(bookie);
            }
        }
        return chosen;
    }

    /// <summary>
    /// A replacement for the bookie at <paramref name="position"/> of <paramref name="ensemble"/>: any
    /// available bookie not in the ensemble, preferring hosts the rest of the ensemble does not use.
    /// </summary>
    public static string Replace(IReadOnlyList<string> ensemble, int position, IReadOnlyCollection<string> available, IReadOnlySet<string>? alsoExclude = null, Random? random = null)
    {
        random ??= Random.Shared;
        var inUse = new HashSet<string>(ensemble, StringComparer.Ordinal);
        var candidates = available.Where(b => !inUse.Contains(b) && (alsoExclude is null || !alsoExclude.Contains(b))).Distinct(StringComparer.Ordinal).ToList();
        if (candidates.Count == 0)
            throw new InsufficientBookiesException(1, 0, available.Count);
        var usedHosts = ensemble.Where((_, i) => i != position).Select(Host).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var fresh = candidates.Where(b => !usedHosts.Contains(Host(b))).ToList();
        var pool = fresh.Count > 0 ? fresh : candidates;
        return pool[random.Next(pool.Count)];
    }

    /// <summary>The host part of "HOST:PORT".</summary>
    public static string Host(string bookieId)
    {
        var colon = bookieId.LastIndexOf(':');
        return colon > 0 ? bookieId[..colon] : bookieId;
    }
}

/// <summary>Not enough writable bookies are registered to form or repair an ensemble.</summary>
public sealed class InsufficientBookiesException(int needed, int eligible, int available)
    : Exception($"Need {needed} bookies but only {eligible} are eligible ({available} registered and writable); start more bookies or lower the ensemble size.")
{
    public int Needed { get; } = needed;
    public int Eligible { get; } = eligible;
}
