namespace Tiered.Ledger;

/// <summary>
/// The bookie registry in the metadata service: bookies write it (each keeps one ephemeral key,
/// valued with its advertised address), writers, auto-recovery and the admin API read it.
/// </summary>
public static class BookiePaths
{
    /// <summary>/bookies/: every registration below it.</summary>
    public const string Root = "/bookies/";

    /// <summary>/bookies/available: bookies that accept adds.</summary>
    public const string Available = "/bookies/available";

    /// <summary>/bookies/readonly: bookies that serve reads only (disk nearly full, journal unusable).</summary>
    public const string ReadOnly = "/bookies/readonly";

    /// <summary>
    /// /bookies/decommissioning: bookies an operator is draining (persistent keys, written by the admin
    /// API, valued with when it was asked). Such a bookie stays read-only, and auto-recovery copies
    /// its share of every ledger to other bookies while it still serves reads.
    /// </summary>
    public const string Decommissioning = "/bookies/decommissioning";

    public static string AvailableKey(string bookieId) => $"{Available}/{bookieId}";

    public static string ReadOnlyKey(string bookieId) => $"{ReadOnly}/{bookieId}";

    public static string DecommissioningKey(string bookieId) => $"{Decommissioning}/{bookieId}";
}
