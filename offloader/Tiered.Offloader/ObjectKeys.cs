namespace Tiered.Offloader;

/// <summary>
/// Object keys of offloaded ledgers: "{managed ledger}/ledger-{id}-{run}-{part}-entries-{first}-{last}.parquet",
/// e.g. "public/default/persistent/orders/ledger-12-3f2a…-000-entries-0-49999.parquet". The run id keeps
/// the objects of an offload that did not complete apart from those of the one that did; the entry
/// range tells a reader of the bucket what each object holds without opening it.
/// </summary>
internal static class ObjectKeys
{
    public static string LedgerPrefix(string managedLedger, long ledgerId) => $"{managedLedger}/ledger-{ledgerId}-";

    public static string RunPrefix(string managedLedger, long ledgerId, string runId) => $"{LedgerPrefix(managedLedger, ledgerId)}{runId}-";

    public static string Object(string managedLedger, long ledgerId, string runId, int part, long firstEntryId, long lastEntryId)
        => $"{RunPrefix(managedLedger, ledgerId, runId)}{part:D3}-entries-{firstEntryId}-{lastEntryId}.parquet";
}
