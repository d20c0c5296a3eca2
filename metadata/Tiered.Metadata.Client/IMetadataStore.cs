using Tiered.Metadata.V1;

namespace Tiered.Metadata;

/// <summary>Whether a read must see every write acknowledged before it started.</summary>
public enum ReadConsistency
{
    /// <summary>Served by the leader after a read barrier: sees every acknowledged write.</summary>
    Linearizable,
    /// <summary>Served from the contacted node's state as it is; may lag behind the leader.</summary>
    Stale,
}

/// <summary>
/// The metadata store every Tiered component keeps its state in: a versioned hierarchical
/// key-value store with compare-and-set, multi-key transactions, watches, sessions with
/// ephemeral keys and id generators. Implemented in-process by the Raft node and remotely
/// by <see cref="MetadataClient"/>, with the same behaviour.
/// </summary>
public interface IMetadataStore : IAsyncDisposable
{
    /// <summary>Reads a key; null when it does not exist.</summary>
    ValueTask<KeyValue?> GetAsync(string key, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates or replaces a key. <paramref name="expectedVersion"/>: null = unconditional,
    /// -1 = the key must not exist, N = its version must be N (else <see cref="MetadataErrorCode.BadVersion"/>).
    /// A non-zero <paramref name="sessionId"/> makes the key ephemeral.
    /// </summary>
    ValueTask<KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, long sessionId = 0, CancellationToken cancellationToken = default);

    /// <summary>Deletes a key; false when it did not exist. With <paramref name="expectedVersion"/> the key must exist at that version.</summary>
    ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default);

    /// <summary>Names (not paths) of the immediate children of <paramref name="path"/>, sorted ordinally.</summary>
    ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default);

    /// <summary>Every key-value whose key starts with <paramref name="prefix"/>, sorted by key.</summary>
    ValueTask<IReadOnlyList<KeyValue>> ListAsync(string prefix, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default);

    /// <summary>Applies every operation or none: all checks and expected versions are verified first.</summary>
    ValueTask<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every change under <paramref name="prefix"/> with a revision greater than <paramref name="fromRevision"/>
    /// (0: changes from now on), once each, in revision order, until cancelled.
    /// </summary>
    IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, CancellationToken cancellationToken = default);

    /// <summary>Opens a session; keep it alive with <see cref="KeepAliveAsync"/> more often than <paramref name="ttl"/>.</summary>
    ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default);

    ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default);

    /// <summary>Closes a session now and deletes its ephemeral keys.</summary>
    ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default);

    /// <summary>Allocates <paramref name="count"/> consecutive ids from the counter <paramref name="name"/>; returns the first. Ids start at 1 and never repeat.</summary>
    ValueTask<long> NextIdAsync(string name, int count = 1, CancellationToken cancellationToken = default);
}
