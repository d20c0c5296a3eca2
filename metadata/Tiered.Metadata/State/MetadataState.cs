using Google.Protobuf;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.State;

/// <summary>
/// The replicated state machine's data: keys, sessions and counters. Every node applies the
/// same commands in the same order, so everything here must be deterministic: no clocks, no
/// randomness. Callers hold <see cref="Sync"/> around every access.
/// </summary>
internal sealed partial class MetadataState
{
    public const long MinTtlMs = 500;
    public const long MaxTtlMs = 3_600_000;
    public const int MaxIdBatch = 100_000;

    private readonly SortedSet<string> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, KeyValue> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Session> _sessions = [];
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);
    private long _nextSessionId = 1;

    public MetadataState(int watchHistory = WatchHub.DefaultHistory) => Watches = new WatchHub(watchHistory);

    /// <summary>Guards every field of this object and of <see cref="Watches"/>.</summary>
    public object Sync { get; } = new();

    /// <summary>Number of changes applied so far; each change of one key takes the next revision.</summary>
    public long Revision { get; private set; }

    public WatchHub Watches { get; }

    public int KeyCount => _values.Count;

    public IReadOnlyCollection<long> SessionIds => _sessions.Keys;

    public bool TryGetSession(long id, out long ttlMs, out long createdAtMs)
    {
        if (_sessions.TryGetValue(id, out var s))
        {
            (ttlMs, createdAtMs) = (s.TtlMs, s.CreatedAtMs);
            return true;
        }
        (ttlMs, createdAtMs) = (0, 0);
        return false;
    }

    public KeyValue? Get(string key) => _values.GetValueOrDefault(key);

    /// <summary>
    /// Names of the immediate children of <paramref name="path"/>, sorted ordinally. Each step
    /// finds the next key with one O(log n) lookup and then skips the child's whole subtree.
    /// </summary>
    public List<string> Children(string path)
    {
        var prefix = path == "/" ? "/" : path + "/";
        var upper = prefix + '\uffff';
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var lower = prefix;
        while (_keys.GetViewBetween(lower, upper).Min is { } key)
        {
            var rest = key.AsSpan(prefix.Length);
            var slash = rest.IndexOf('/');
            var child = (slash < 0 ? rest : rest[..slash]).ToString();
            names.Add(child);
            // After the child's own key may come a sibling such as "child-x" (sorts before "child/"),
            // so step just past it; after a key inside the subtree, skip to past "child/\uffff" ('0' follows '/').
            lower = slash < 0 ? key + '\0' : prefix + child + "0";
        }
        return [.. names];
    }

    public List<KeyValue> Range(string prefix)
    {
        var result = new List<KeyValue>();
        foreach (var key in _keys.GetViewBetween(prefix, prefix + '\uffff'))
            result.Add(_values[key]);
        return result;
    }

    /// <summary>
    /// Applies one command. Returns the response message, or throws <see cref="MetadataException"/>
    /// having changed nothing. <paramref name="proposedAtMs"/> is the leader's clock stored in the log.
    /// </summary>
    public IMessage Apply(Command command, long proposedAtMs) => command.KindCase switch
    {
        Command.KindOneofCase.Put => new PutResponse { Kv = ApplyPut(command.Put) },
        Command.KindOneofCase.Delete => ApplyDelete(command.Delete),
        Command.KindOneofCase.Txn => ApplyTxn(command.Txn),
        Command.KindOneofCase.CreateSession => ApplyCreateSession(command.CreateSession, proposedAtMs),
        Command.KindOneofCase.CloseSession => ApplyCloseSession(command.CloseSession.SessionId, expired: false),
        Command.KindOneofCase.ExpireSession => ApplyCloseSession(command.ExpireSession.SessionId, expired: true),
        Command.KindOneofCase.NextId => ApplyNextId(command.NextId),
        Command.KindOneofCase.Barrier => new StatusResponse { Revision = Revision },
        _ => throw new MetadataException(MetadataErrorCode.InvalidArgument, $"Unknown command '{command.KindCase}'."),
    };

    private KeyValue ApplyPut(PutRequest put)
    {
        CheckPut(put, Get(put.Key));
        return StorePut(put);
    }

    private void CheckPut(PutRequest put, KeyValue? existing)
    {
        KeyPath.Validate(put.Key);
        KeyPath.ValidateValue(put.Value.Span);
        if (put.HasExpectedVersion)
            CheckVersion(put.Key, put.ExpectedVersion, existing);
        if (put.SessionId != 0 && !_sessions.ContainsKey(put.SessionId))
            throw new MetadataException(MetadataErrorCode.SessionNotFound,
                $"Session {put.SessionId} does not exist (it expired or was closed); create a new session.");
    }

    private static void CheckVersion(string key, long expected, KeyValue? existing)
    {
        if (expected < -1)
            throw new MetadataException(MetadataErrorCode.InvalidArgument, $"Expected version {expected} is invalid: use -1 (must not exist) or a version >= 0.");
        var actual = existing?.Version ?? -1;
        if (actual != expected)
        {
            var what = existing is null ? "does not exist" : $"is at version {actual}";
            throw new MetadataException(MetadataErrorCode.BadVersion, $"Key '{key}' {what}, expected {(expected == -1 ? "it not to exist" : $"version {expected}")}.");
        }
    }

    private KeyValue StorePut(PutRequest put)
    {
        var revision = ++Revision;
        var existing = Get(put.Key);
        if (existing is { SessionId: not 0 } && existing.SessionId != put.SessionId)
            _sessions[existing.SessionId].Keys.Remove(put.Key);
        var kv = new KeyValue
        {
            Key = put.Key,
            Value = put.Value,
            Version = existing is null ? 0 : existing.Version + 1,
            CreateRevision = existing?.CreateRevision ?? revision,
            ModRevision = revision,
            SessionId = put.SessionId,
        };
        if (existing is null)
            _keys.Add(put.Key);
        _values[put.Key] = kv;
        if (put.SessionId != 0)
            _sessions[put.SessionId].Keys.Add(put.Key);
        Watches.Publish(new WatchEvent { Type = WatchEvent.Types.Type.Put, Kv = kv, Revision = revision });
        return kv;
    }

    private DeleteResponse ApplyDelete(DeleteRequest delete)
    {
        var existing = CheckDelete(delete);
        var deleted = existing is not null && StoreDelete(existing, expired: false);
        return new DeleteResponse { Deleted = deleted, Revision = Revision };
    }

    private KeyValue? CheckDelete(DeleteRequest delete)
    {
        KeyPath.Validate(delete.Key);
        var existing = Get(delete.Key);
        if (delete.HasExpectedVersion)
        {
            if (delete.ExpectedVersion < 0)
                throw new MetadataException(MetadataErrorCode.InvalidArgument, "A delete's expected version must be >= 0.");
            CheckVersion(delete.Key, delete.ExpectedVersion, existing);
        }
        return existing;
    }

    private bool StoreDelete(KeyValue existing, bool expired, bool sessionClosing = false)
    {
        var revision = ++Revision;
        _keys.Remove(existing.Key);
        _values.Remove(existing.Key);
        if (existing.SessionId != 0 && !sessionClosing)
            _sessions[existing.SessionId].Keys.Remove(existing.Key);
        Watches.Publish(new WatchEvent
        {
            Type = WatchEvent.Types.Type.Delete,
            Kv = new KeyValue { Key = existing.Key, ModRevision = revision, SessionId = existing.SessionId },
            Revision = revision,
            Expired = expired,
        });
        return true;
    }

    private CreateSessionResponse ApplyCreateSession(CreateSessionRequest request, long proposedAtMs)
    {
        if (request.TtlMs is < MinTtlMs or > MaxTtlMs)
            throw new MetadataException(MetadataErrorCode.InvalidArgument, $"Session TTL {request.TtlMs} ms is out of range [{MinTtlMs}, {MaxTtlMs}] ms.");
        var id = _nextSessionId++;
        _sessions[id] = new Session(request.TtlMs, proposedAtMs);
        return new CreateSessionResponse { SessionId = id, TtlMs = request.TtlMs };
    }

    private CloseSessionResponse ApplyCloseSession(long id, bool expired)
    {
        if (!_sessions.Remove(id, out var session))
            throw new MetadataException(MetadataErrorCode.SessionNotFound, $"Session {id} does not exist (it expired or was closed).");
        foreach (var key in session.Keys.Order(StringComparer.Ordinal))
            StoreDelete(_values[key], expired, sessionClosing: true);
        return new CloseSessionResponse();
    }

    private NextIdResponse ApplyNextId(NextIdRequest request)
    {
        if (string.IsNullOrEmpty(request.Name) || request.Name.Length > 256)
            throw new MetadataException(MetadataErrorCode.InvalidArgument, "A counter name must have 1 to 256 characters.");
        if (request.Count is < 1 or > MaxIdBatch)
            throw new MetadataException(MetadataErrorCode.InvalidArgument, $"Id count {request.Count} is out of range [1, {MaxIdBatch}].");
        var last = _counters.GetValueOrDefault(request.Name);
        _counters[request.Name] = last + request.Count;
        return new NextIdResponse { FirstId = last + 1 };
    }

    private sealed class Session(long ttlMs, long createdAtMs)
    {
        public long TtlMs { get; } = ttlMs;
        public long CreatedAtMs { get; } = createdAtMs;
        public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);
    }
}
