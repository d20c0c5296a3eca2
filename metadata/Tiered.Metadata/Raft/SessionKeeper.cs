using System.Collections.Concurrent;
using DotNext.Net.Cluster.Consensus.Raft;
using Microsoft.Extensions.Logging;
using Tiered.Metadata.State;
using Tiered.Metadata.V1;

namespace Tiered.Metadata.Raft;

/// <summary>
/// Decides, on the leader only, when sessions expire. Heartbeats are not replicated: the
/// leader keeps the last one per session in memory and proposes an ExpireSession command
/// once a session has been silent for its TTL. A new leader does not know earlier heartbeats,
/// so it gives every session a full TTL from the moment it took over (as etcd does for leases).
/// </summary>
internal sealed partial class SessionKeeper : IAsyncDisposable
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly IRaftCluster _cluster;
    private readonly MetadataState _state;
    private readonly Func<Command, CancellationToken, Task> _propose;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, long> _lastHeartbeatMs = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private CancellationToken _leadership = new(canceled: true);
    private long _leaderSinceMs;

    public SessionKeeper(IRaftCluster cluster, MetadataState state, Func<Command, CancellationToken, Task> propose, TimeProvider time, ILogger logger)
    {
        (_cluster, _state, _propose, _time, _logger) = (cluster, state, propose, time, logger);
        _loop = Task.Run(RunAsync);
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Records a heartbeat; false when the session does not exist.</summary>
    public bool Touch(long sessionId)
    {
        lock (_state.Sync)
        {
            if (!_state.TryGetSession(sessionId, out _, out _))
                return false;
        }
        _lastHeartbeatMs[sessionId] = NowMs;
        return true;
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(CheckInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var leadership = _cluster.LeadershipToken;
                if (leadership.IsCancellationRequested)
                    continue;
                if (leadership != _leadership)
                {
                    _leadership = leadership;
                    _lastHeartbeatMs.Clear();
                    _leaderSinceMs = NowMs;
                }
                foreach (var id in FindExpired())
                {
                    LogMessages.Expiring(_logger, id);
                    _lastHeartbeatMs.TryRemove(id, out _);
                    try
                    {
                        await _propose(new Command { ExpireSession = new CloseSessionRequest { SessionId = id } }, _stop.Token).ConfigureAwait(false);
                    }
                    catch (MetadataException e) when (e.Code is MetadataErrorCode.SessionNotFound or MetadataErrorCode.NotLeader or MetadataErrorCode.OutcomeUnknown)
                    {
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private List<long> FindExpired()
    {
        var now = NowMs;
        var expired = new List<long>();
        lock (_state.Sync)
        {
            foreach (var id in _state.SessionIds)
            {
                _state.TryGetSession(id, out var ttlMs, out var createdAtMs);
                var last = Math.Max(Math.Max(_leaderSinceMs, createdAtMs), _lastHeartbeatMs.GetValueOrDefault(id));
                if (now - last > ttlMs)
                    expired.Add(id);
            }
        }
        return expired;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
