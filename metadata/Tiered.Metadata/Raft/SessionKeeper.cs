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
/// <para>
/// The keeper sleeps until the earliest moment a session could expire (at most <see cref="MaxWait"/>),
/// and is woken early when a session is created or the leadership changes: a heartbeat only moves a
/// deadline later, so nothing else can bring one forward. An idle leader whose sessions heartbeat
/// every TTL/3 thus looks about once a second instead of ten times.
/// </para>
/// </summary>
internal sealed partial class SessionKeeper : IAsyncDisposable
{
    /// <summary>The longest sleep between two looks, whatever the deadlines: a safety net against a clock jump or a missed wake.</summary>
    internal static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan RetryAfterExpiry = TimeSpan.FromMilliseconds(100);

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
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SessionKeeper(IRaftCluster cluster, MetadataState state, Func<Command, CancellationToken, Task> propose, TimeProvider time, ILogger logger)
    {
        (_cluster, _state, _propose, _time, _logger) = (cluster, state, propose, time, logger);
        _cluster.LeaderChanged += OnLeaderChanged;
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

    /// <summary>Records a new session's first heartbeat and looks again: its deadline may be the earliest now.</summary>
    public void Created(long sessionId)
    {
        Touch(sessionId);
        Wake();
    }

    private void OnLeaderChanged(DotNext.Net.Cluster.ICluster cluster, DotNext.Net.Cluster.IClusterMember? leader) => Wake();

    /// <summary>Ends the current sleep: a look follows at once.</summary>
    private void Wake() => Volatile.Read(ref _wake).TrySetResult();

    private async Task RunAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                // A wake from here on ends the sleep below: it is taken before the state is looked at.
                var wake = Volatile.Read(ref _wake);
                if (wake.Task.IsCompleted)
                {
                    wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    Volatile.Write(ref _wake, wake);
                }
                var wait = MaxWait;
                var leadership = _cluster.LeadershipToken;
                if (!leadership.IsCancellationRequested)
                {
                    if (leadership != _leadership)
                    {
                        _leadership = leadership;
                        _lastHeartbeatMs.Clear();
                        _leaderSinceMs = NowMs;
                    }
                    var (expired, nextDeadlineMs) = FindExpired();
                    foreach (var id in expired)
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
                    // After expiring, look again soon, as before: an expiry whose outcome is unknown is retried.
                    wait = expired.Count > 0 ? RetryAfterExpiry
                        : TimeSpan.FromMilliseconds(Math.Clamp(nextDeadlineMs - NowMs, 1, (long)MaxWait.TotalMilliseconds));
                }
                await SleepAsync(wake.Task, wait).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sleeps for <paramref name="wait"/> on the keeper's clock, or until woken.</summary>
    private async Task SleepAsync(Task wake, TimeSpan wait)
    {
        using var sleep = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var delay = Task.Delay(wait, _time, sleep.Token);
        await Task.WhenAny(wake, delay).ConfigureAwait(false);
        await sleep.CancelAsync().ConfigureAwait(false);
        _stop.Token.ThrowIfCancellationRequested();
    }

    /// <summary>The sessions silent for longer than their TTL, and the earliest moment (Unix ms) one of the others could expire.</summary>
    private (List<long> Expired, long NextDeadlineMs) FindExpired()
    {
        var now = NowMs;
        var expired = new List<long>();
        var next = long.MaxValue;
        lock (_state.Sync)
        {
            foreach (var id in _state.SessionIds)
            {
                _state.TryGetSession(id, out var ttlMs, out var createdAtMs);
                var last = Math.Max(Math.Max(_leaderSinceMs, createdAtMs), _lastHeartbeatMs.GetValueOrDefault(id));
                if (now - last > ttlMs)
                    expired.Add(id);
                else
                    next = Math.Min(next, last + ttlMs + 1);
            }
        }
        return (expired, next);
    }

    public async ValueTask DisposeAsync()
    {
        _cluster.LeaderChanged -= OnLeaderChanged;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
