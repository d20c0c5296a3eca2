namespace Tiered.Ledger;

/// <summary>
/// Bookies that failed a writer recently (a broken stream, a refusal, an add timeout), kept out of
/// new ensembles and replacements for <see cref="LedgerClientOptions.BookieQuarantineTime"/>, as
/// BookKeeper's quarantine does. A crashed bookie stays registered until its session expires;
/// without this every new ledger could choose it and fail at once. Only a preference: when too
/// few other bookies are registered, quarantined ones are chosen rather than failing. Thread-safe.
/// </summary>
internal sealed class BookieQuarantine(TimeSpan duration, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _until = new(StringComparer.Ordinal);

    /// <summary>Keeps <paramref name="bookieId"/> out of placements for the quarantine time from now.</summary>
    public void Add(string bookieId)
    {
        if (duration <= TimeSpan.Zero)
            return;
        var until = time.GetTimestamp() + (long)(duration.TotalSeconds * time.TimestampFrequency);
        lock (_lock)
            _until[bookieId] = until;
    }

    /// <summary>How many bookies are in quarantine now.</summary>
    public int Count => Current().Count;

    /// <summary>The bookies still in quarantine (expired ones are forgotten).</summary>
    public HashSet<string> Current()
    {
        var now = time.GetTimestamp();
        var current = new HashSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            List<string>? expired = null;
            foreach (var (bookie, until) in _until)
            {
                if (until > now)
                    current.Add(bookie);
                else
                    (expired ??= []).Add(bookie);
            }
            foreach (var bookie in expired ?? [])
                _until.Remove(bookie);
        }
        return current;
    }

    /// <summary>
    /// <paramref name="size"/> bookies for a new ensemble: none quarantined if enough others are
    /// available, else the others plus as few quarantined ones as needed.
    /// </summary>
    /// <exception cref="InsufficientBookiesException">Fewer than <paramref name="size"/> bookies are available at all.</exception>
    public List<string> Choose(IReadOnlyCollection<string> available, int size)
    {
        var quarantined = Current();
        if (quarantined.Count > 0)
        {
            try
            {
                return EnsemblePlacement.Choose(available, size, quarantined);
            }
            // Too few bookies outside quarantine: all of them, and the rest from quarantine.
            catch (InsufficientBookiesException)
            {
                if (available.Distinct(StringComparer.Ordinal).Count() < size)
                    return EnsemblePlacement.Choose(available, size); // throws, counting every registered bookie
                var others = available.Where(b => !quarantined.Contains(b)).Distinct(StringComparer.Ordinal).ToList();
                var fill = EnsemblePlacement.Choose(available, size - others.Count, new HashSet<string>(others, StringComparer.Ordinal));
                return EnsemblePlacement.Choose([.. others, .. fill], size);
            }
        }
        return EnsemblePlacement.Choose(available, size);
    }

    /// <summary>A replacement for a failed ensemble position, preferring bookies not in quarantine.</summary>
    /// <exception cref="InsufficientBookiesException">No eligible bookie outside <paramref name="exclude"/> and the ensemble.</exception>
    public string Replace(IReadOnlyList<string> ensemble, int position, IReadOnlyCollection<string> available, IReadOnlySet<string> exclude)
    {
        var quarantined = Current();
        if (quarantined.Count > 0)
        {
            quarantined.UnionWith(exclude);
            try
            {
                return EnsemblePlacement.Replace(ensemble, position, available, quarantined);
            }
            catch (InsufficientBookiesException)
            {
            }
        }
        return EnsemblePlacement.Replace(ensemble, position, available, exclude);
    }
}
