using System.Runtime.CompilerServices;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Broker.Tests;

/// <summary>A metadata store that counts the reads it serves and whose watches can be broken on demand.</summary>
internal sealed class CountingStore(IMetadataStore inner) : IMetadataStore
{
    private int _reads;
    private int _watches;
    private volatile bool _broken;
    private CancellationTokenSource _breaking = new();

    /// <summary>Gets and lists served.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Watches started (including refused ones while broken).</summary>
    public int Watches => Volatile.Read(ref _watches);

    /// <summary>Ends every running watch with an error and refuses new ones until <see cref="Repair"/>.</summary>
    public void Break()
    {
        _broken = true;
        _breaking.Cancel();
    }

    public void Repair()
    {
        _breaking = new CancellationTokenSource();
        _broken = false;
    }

    public ValueTask<KeyValue?> GetAsync(string key, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        return inner.GetAsync(key, consistency, cancellationToken);
    }

    public ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        return inner.ListChildrenAsync(path, consistency, cancellationToken);
    }

    public ValueTask<IReadOnlyList<KeyValue>> ListAsync(string prefix, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        return inner.ListAsync(prefix, consistency, cancellationToken);
    }

    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _watches);
        if (_broken)
            throw new MetadataException(MetadataErrorCode.Unavailable, "The test broke the watch.");
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _breaking.Token);
        var events = inner.WatchAsync(prefix, fromRevision, both.Token).GetAsyncEnumerator(both.Token);
        try
        {
            while (true)
            {
                try
                {
                    if (!await events.MoveNextAsync())
                        yield break;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new MetadataException(MetadataErrorCode.Unavailable, "The test broke the watch.");
                }
                yield return events.Current;
            }
        }
        finally
        {
            await events.DisposeAsync();
        }
    }

    public ValueTask<KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, long sessionId = 0, CancellationToken cancellationToken = default)
        => inner.PutAsync(key, value, expectedVersion, sessionId, cancellationToken);

    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => inner.DeleteAsync(key, expectedVersion, cancellationToken);

    public ValueTask<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default) => inner.TxnAsync(request, cancellationToken);

    public ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default) => inner.CreateSessionAsync(ttl, cancellationToken);

    public ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default) => inner.KeepAliveAsync(sessionId, cancellationToken);

    public ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default) => inner.CloseSessionAsync(sessionId, cancellationToken);

    public ValueTask<long> NextIdAsync(string name, int count = 1, CancellationToken cancellationToken = default) => inner.NextIdAsync(name, count, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
