using System.Collections.Concurrent;
using Google.Protobuf;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Bench.Micro;

/// <summary>Just enough of a metadata store for the benchmarks' ledgers, managed ledgers and cursors: versioned keys and an id counter.</summary>
internal sealed class MemoryMetadata : IMetadataStore
{
    private readonly ConcurrentDictionary<string, KeyValue> _keys = new();
    private long _revision;
    private long _ids;

    public ValueTask<KeyValue?> GetAsync(string key, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(_keys.TryGetValue(key, out var kv) ? kv.Clone() : null);

    public ValueTask<KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, long sessionId = 0, CancellationToken cancellationToken = default)
    {
        lock (_keys)
        {
            var exists = _keys.TryGetValue(key, out var current);
            if (expectedVersion is { } expected && (expected == -1 ? exists : !exists || current!.Version != expected))
                return ValueTask.FromException<KeyValue>(new MetadataException(MetadataErrorCode.BadVersion, $"{key}: version mismatch"));
            var revision = ++_revision;
            var kv = new KeyValue { Key = key, Value = ByteString.CopyFrom(value.Span), Version = (current?.Version ?? 0) + 1, CreateRevision = current?.CreateRevision ?? revision, ModRevision = revision };
            _keys[key] = kv;
            return ValueTask.FromResult(kv.Clone());
        }
    }

    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(_keys.TryRemove(key, out _));

    public ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        var prefix = path.TrimEnd('/') + "/";
        IReadOnlyList<string> children = [.. _keys.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..].Split('/')[0]).Distinct().Order(StringComparer.Ordinal)];
        return ValueTask.FromResult(children);
    }

    public ValueTask<IReadOnlyList<KeyValue>> ListAsync(string prefix, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<KeyValue> list = [.. _keys.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value.Clone())];
        return ValueTask.FromResult(list);
    }

    public ValueTask<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        yield break;
    }

    public ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default) => ValueTask.FromResult(1L);

    public ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<long> NextIdAsync(string name, int count = 1, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(Interlocked.Add(ref _ids, count) - count + 1);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
