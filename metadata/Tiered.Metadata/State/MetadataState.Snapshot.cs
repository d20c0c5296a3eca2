using Tiered.Metadata.V1;

namespace Tiered.Metadata.State;

internal sealed partial class MetadataState
{
    /// <summary>The whole state as one message, for Raft snapshots.</summary>
    public StateSnapshot ToSnapshot()
    {
        var snapshot = new StateSnapshot { Revision = Revision, NextSessionId = _nextSessionId };
        foreach (var key in _keys)
            snapshot.Kvs.Add(_values[key]);
        // Sorted, so that replicas with the same state write the same bytes.
        foreach (var (id, session) in _sessions.OrderBy(s => s.Key))
            snapshot.Sessions.Add(new SessionRecord { SessionId = id, TtlMs = session.TtlMs, CreatedAtMs = session.CreatedAtMs });
        foreach (var (name, value) in _counters.OrderBy(c => c.Key, StringComparer.Ordinal))
            snapshot.Counters.Add(name, value);
        return snapshot;
    }

    /// <summary>Replaces the whole state with a snapshot; watch history restarts at its revision.</summary>
    public void Restore(StateSnapshot snapshot)
    {
        _keys.Clear();
        _values.Clear();
        _sessions.Clear();
        _counters.Clear();
        Revision = snapshot.Revision;
        _nextSessionId = snapshot.NextSessionId;
        foreach (var record in snapshot.Sessions)
            _sessions[record.SessionId] = new Session(record.TtlMs, record.CreatedAtMs);
        foreach (var kv in snapshot.Kvs)
        {
            _keys.Add(kv.Key);
            _values[kv.Key] = kv;
            if (kv.SessionId != 0)
                _sessions[kv.SessionId].Keys.Add(kv.Key);
        }
        foreach (var (name, value) in snapshot.Counters)
            _counters[name] = value;
        Watches.Reset(Revision);
    }
}
