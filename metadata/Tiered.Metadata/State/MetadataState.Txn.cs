using Tiered.Metadata.V1;

namespace Tiered.Metadata.State;

internal sealed partial class MetadataState
{
    public const int MaxTxnOps = 1024;

    /// <summary>
    /// Checks every operation against the state as the earlier operations of the same
    /// transaction would leave it; only when all pass are they applied, in order.
    /// </summary>
    private TxnResponse ApplyTxn(TxnRequest txn)
    {
        if (txn.Ops.Count is 0 or > MaxTxnOps)
            throw new MetadataException(MetadataErrorCode.InvalidArgument, $"A transaction needs 1 to {MaxTxnOps} operations, it has {txn.Ops.Count}.");

        // Pending view of the keys this transaction touches: null value = deleted by an earlier op.
        var pending = new Dictionary<string, KeyValue?>(StringComparer.Ordinal);
        KeyValue? Current(string key) => pending.TryGetValue(key, out var kv) ? kv : Get(key);

        for (var i = 0; i < txn.Ops.Count; i++)
        {
            var op = txn.Ops[i];
            try
            {
                switch (op.OpCase)
                {
                    case TxnOp.OpOneofCase.Put:
                        var existing = Current(op.Put.Key);
                        CheckPut(op.Put, existing);
                        pending[op.Put.Key] = new KeyValue { Key = op.Put.Key, Version = existing is null ? 0 : existing.Version + 1 };
                        break;
                    case TxnOp.OpOneofCase.Delete:
                        KeyPath.Validate(op.Delete.Key);
                        if (op.Delete.HasExpectedVersion)
                        {
                            if (op.Delete.ExpectedVersion < 0)
                                throw new MetadataException(MetadataErrorCode.InvalidArgument, "A delete's expected version must be >= 0.");
                            CheckVersion(op.Delete.Key, op.Delete.ExpectedVersion, Current(op.Delete.Key));
                        }
                        pending[op.Delete.Key] = null;
                        break;
                    case TxnOp.OpOneofCase.Check:
                        KeyPath.Validate(op.Check.Key);
                        CheckVersion(op.Check.Key, op.Check.ExpectedVersion, Current(op.Check.Key));
                        break;
                    default:
                        throw new MetadataException(MetadataErrorCode.InvalidArgument, "A transaction operation must be a put, a delete or a check.");
                }
            }
            catch (MetadataException e)
            {
                throw new MetadataException(e.Code, $"Transaction operation {i} failed, nothing was applied: {e.Message}");
            }
        }

        var response = new TxnResponse();
        foreach (var op in txn.Ops)
        {
            switch (op.OpCase)
            {
                case TxnOp.OpOneofCase.Put:
                    response.Results.Add(new TxnOpResult { Kv = StorePut(op.Put) });
                    break;
                case TxnOp.OpOneofCase.Delete:
                    var existing = Get(op.Delete.Key);
                    response.Results.Add(new TxnOpResult { Deleted = existing is not null && StoreDelete(existing, expired: false) });
                    break;
                default:
                    response.Results.Add(new TxnOpResult());
                    break;
            }
        }
        response.Revision = Revision;
        return response;
    }
}
