namespace Tiered.Offloader;

/// <summary>
/// Object keys of offloaded ledgers: "{managed ledger}/ledger-{id}-{run}-{part}.parquet", e.g.
/// "public/default/persistent/orders/ledger-12-3f2a…-000.parquet". The run id keeps the objects of
/// an offload that did not complete apart from those of the one that did.
/// </summary>
internal static class ObjectKeys
{
    public static string LedgerPrefix(string managedLedger, long ledgerId) => $"{managedLedger}/ledger-{ledgerId}-";

    public static string RunPrefix(string managedLedger, long ledgerId, string runId) => $"{LedgerPrefix(managedLedger, ledgerId)}{runId}-";

    public static string Object(string managedLedger, long ledgerId, string runId, int part) => $"{RunPrefix(managedLedger, ledgerId, runId)}{part:D3}.parquet";
}
