using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Broker.Metadata;

/// <summary>
/// The metadata service as the rest of the broker (and the admin API it hosts) uses it: a write to
/// a key the <see cref="MetadataCache"/> keeps drops that key when the write ends (applied, refused
/// or of unknown outcome), so this broker reads its own writes at once; other brokers learn them from
/// their watch. Everything else passes through unchanged.
/// </summary>
internal sealed class CacheInvalidatingStore(IMetadataStore inner, MetadataCache cache) : IMetadataStore
{
    public IMetadataStore Inner => inner;

    public ValueTask<KeyValue?> GetAsync(string key, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
        => inner.GetAsync(key, consistency, cancellationToken);

    public async ValueTask<KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, long sessionId = 0, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.PutAsync(key, value, expectedVersion, sessionId, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Changed(key);
        }
    }

    public async ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.DeleteAsync(key, expectedVersion, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Changed(key);
        }
    }

    public ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
        => inner.ListChildrenAsync(path, consistency, cancellationToken);

    public ValueTask<IReadOnlyList<KeyValue>> ListAsync(string prefix, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
        => inner.ListAsync(prefix, consistency, cancellationToken);

    public async ValueTask<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.TxnAsync(request, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var op in request.Ops)
            {
                if (op.OpCase == TxnOp.OpOneofCase.Put)
                    Changed(op.Put.Key);
                else if (op.OpCase == TxnOp.OpOneofCase.Delete)
                    Changed(op.Delete.Key);
            }
        }
    }

    public IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, CancellationToken cancellationToken = default)
        => inner.WatchAsync(prefix, fromRevision, cancellationToken);

    public ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default) => inner.CreateSessionAsync(ttl, cancellationToken);

    public ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default) => inner.KeepAliveAsync(sessionId, cancellationToken);

    public ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default) => inner.CloseSessionAsync(sessionId, cancellationToken);

    public ValueTask<long> NextIdAsync(string name, int count = 1, CancellationToken cancellationToken = default) => inner.NextIdAsync(name, count, cancellationToken);

    /// <summary>The store is the caller's: disposing this view leaves it open.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void Changed(string key)
    {
        if (cache.Covers(key))
            cache.Invalidate(key);
    }
}
