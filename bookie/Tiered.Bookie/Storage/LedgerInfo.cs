namespace Tiered.Bookie.Storage;

/// <summary>What a bookie keeps about a ledger besides its entries.</summary>
/// <param name="Fenced">Set by a recovery open; the bookie then rejects adds from the old writer.</param>
/// <param name="LastAddConfirmed">Highest entry id known confirmed by the writer, or -1 for none.</param>
/// <param name="MasterKey">The writer's key, checked on adds and fencing; null when not yet known.</param>
internal sealed record LedgerInfo(bool Fenced = false, long LastAddConfirmed = -1, byte[]? MasterKey = null)
{
    /// <summary>A ledger the bookie knows nothing about yet.</summary>
    public static LedgerInfo Empty { get; } = new();
}
