using System.Runtime.CompilerServices;
using System.Threading.Channels;
using DotNext.Net.Cluster.Consensus.Raft;
using Google.Protobuf;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Raft;

/// <summary>The node as an in-process <see cref="IMetadataStore"/>: writes go through Raft, reads through a read barrier.</summary>
internal sealed partial class MetadataNode : IMetadataStore
{
    /// <summary>
    /// Waits until this node has applied everything committed before the call: on the leader
    /// by confirming leadership with a majority, on a follower by asking the leader for its commit index.
    /// </summary>
    public async ValueTask ReadBarrierAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _cluster.ApplyReadBarrierAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is QuorumUnreachableException or InvalidOperationException or TimeoutException)
        {
            throw new MetadataException(MetadataErrorCode.Unavailable,
                "This metadata node cannot reach a majority of the cluster for a linearizable read; retry, or read with stale consistency.", inner: e);
        }
    }

    private ValueTask BarrierIf(ReadConsistency consistency, CancellationToken cancellationToken) =>
        consistency == ReadConsistency.Linearizable ? ReadBarrierAsync(cancellationToken) : ValueTask.CompletedTask;

    private async Task<T> ProposeAsync<T>(Command command, CancellationToken cancellationToken) where T : IMessage
        => (T)await _proposer.ProposeAsync(command, cancellationToken).ConfigureAwait(false);

    public async ValueTask<KeyValue?> GetAsync(string key, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        KeyPath.Validate(key);
        await BarrierIf(consistency, cancellationToken).ConfigureAwait(false);
        lock (_state.Sync)
            return _state.Get(key)?.Clone();
    }

    /// <summary>The state's current revision, read under the lock (for responses that report it).</summary>
    public long Revision
    {
        get
        {
            lock (_state.Sync)
                return _state.Revision;
        }
    }

    public async ValueTask<KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, long sessionId = 0, CancellationToken cancellationToken = default)
    {
        var put = new PutRequest { Key = key, Value = ByteString.CopyFrom(value.Span), SessionId = sessionId };
        if (expectedVersion is { } v)
            put.ExpectedVersion = v;
        return (await PutAsync(put, cancellationToken).ConfigureAwait(false)).Kv;
    }

    public Task<PutResponse> PutAsync(PutRequest put, CancellationToken cancellationToken)
    {
        KeyPath.Validate(put.Key);
        KeyPath.ValidateValue(put.Value.Span);
        return ProposeAsync<PutResponse>(new Command { Put = put }, cancellationToken);
    }

    public async ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        var delete = new DeleteRequest { Key = key };
        if (expectedVersion is { } v)
            delete.ExpectedVersion = v;
        return (await DeleteAsync(delete, cancellationToken).ConfigureAwait(false)).Deleted;
    }

    public Task<DeleteResponse> DeleteAsync(DeleteRequest delete, CancellationToken cancellationToken)
    {
        KeyPath.Validate(delete.Key);
        return ProposeAsync<DeleteResponse>(new Command { Delete = delete }, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        KeyPath.ValidateParent(path);
        await BarrierIf(consistency, cancellationToken).ConfigureAwait(false);
        lock (_state.Sync)
            return _state.Children(path);
    }

    public async ValueTask<IReadOnlyList<KeyValue>> ListAsync(string prefix, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        KeyPath.ValidatePrefix(prefix);
        await BarrierIf(consistency, cancellationToken).ConfigureAwait(false);
        lock (_state.Sync)
            return _state.Range(prefix).ConvertAll(kv => kv.Clone());
    }

    public async ValueTask<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default)
        => await ProposeAsync<TxnResponse>(new Command { Txn = request }, cancellationToken).ConfigureAwait(false);

    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = Subscribe(prefix, fromRevision, cancellationToken, out _);
        await foreach (var e in reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            yield return e;
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Registers a watcher; <paramref name="startRevision"/> is the revision after which it will deliver events.</summary>
    public ChannelReader<WatchEvent> Subscribe(string prefix, long fromRevision, CancellationToken cancellationToken, out long startRevision)
    {
        KeyPath.ValidatePrefix(prefix);
        lock (_state.Sync)
        {
            startRevision = fromRevision == 0 ? _state.Revision : fromRevision;
            return _state.Watches.Subscribe(prefix, fromRevision, _state.Revision, cancellationToken);
        }
    }

    public async ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var response = await ProposeAsync<CreateSessionResponse>(
            new Command { CreateSession = new CreateSessionRequest { TtlMs = (long)ttl.TotalMilliseconds } }, cancellationToken).ConfigureAwait(false);
        _sessions.Created(response.SessionId);
        return response.SessionId;
    }

    public ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        if (!IsLeader)
            throw NotLeader();
        if (!_sessions.Touch(sessionId))
            throw new MetadataException(MetadataErrorCode.SessionNotFound, $"Session {sessionId} does not exist (it expired or was closed); create a new session and re-create its ephemeral keys.");
        return ValueTask.CompletedTask;
    }

    public async ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default)
        => await ProposeAsync<CloseSessionResponse>(new Command { CloseSession = new CloseSessionRequest { SessionId = sessionId } }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<long> NextIdAsync(string name, int count = 1, CancellationToken cancellationToken = default)
        => (await ProposeAsync<NextIdResponse>(new Command { NextId = new NextIdRequest { Name = name, Count = count } }, cancellationToken).ConfigureAwait(false)).FirstId;

    public StatusResponse Status()
    {
        var status = new StatusResponse
        {
            NodeId = _options.NodeId,
            Role = IsLeader ? "leader" : _cluster.Leader is null ? "candidate" : "follower",
            LeaderAddress = LeaderClientAddress ?? "",
            Term = _cluster.Term,
            CommitIndex = _log.LastCommittedEntryIndex,
            AppliedIndex = LastAppliedIndex,
            Revision = Revision,
        };
        status.Members.AddRange(_options.Peers);
        return status;
    }
}
