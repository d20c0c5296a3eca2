using Microsoft.Extensions.Logging;
using Tiered.Broker.Subscriptions;
using Tiered.Broker.Topics;
using Tiered.Broker.Wire;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Replication;

/// <summary>
/// Keeps the position of a topic's replicated subscriptions in step across its clusters (Pulsar's replicated
/// subscriptions), with marker entries that travel in the replicated log itself, so that they are ordered with the
/// messages:
/// <list type="number">
/// <item>While the topic takes new messages and has a replicated subscription, this cluster writes a
/// <see cref="SnapshotRequest"/> every second; the replicators carry it to each remote cluster.</item>
/// <item>A cluster that stores another's request writes a <see cref="SnapshotResponse"/> naming its last entry
/// before the response: every entry of its log up to there reaches the requesting cluster before the response.</item>
/// <item>When the responses of all remotes are stored here, the snapshot is complete: here, the position of the last
/// response; there, the positions they named. A subscription here that has consumed past the local position has
/// consumed everything the remote held up to its position (its own messages, and those it had from any cluster).</item>
/// <item>When a replicated subscription's mark-delete passes a newer snapshot, this cluster writes a
/// <see cref="SubscriptionUpdate"/> with the snapshot's remote positions; a cluster that stores it moves its
/// subscription of that name forward to its position (creating it), never back.</item>
/// </list>
/// So a consumer that moves to another cluster gets every message its subscription had not consumed here, and of
/// those it had, at most the ones after the last snapshot it passed (about a second's worth): at least once.
/// Markers are never delivered to consumers; subscriptions acknowledge them as they pass.
/// </summary>
internal sealed partial class ReplicatedSubscriptions : IAsyncDisposable
{
    /// <summary>The subscription cursor's property that marks it replicated (1).</summary>
    public const string Property = Topic.SystemCursorPrefix + "replicated";

    /// <summary>The producer name markers carry (they are not de-duplicated).</summary>
    public const string MarkerProducer = Topic.SystemCursorPrefix + "markers";

    public static readonly TimeSpan SnapshotInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PendingTimeout = TimeSpan.FromSeconds(30);
    private const int MaxPending = 10;
    private const int MaxSnapshots = 30;

    private readonly Topic _topic;
    private readonly string _local;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly Dictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    /// <summary>Completed snapshots, oldest first.</summary>
    private readonly List<Snapshot> _snapshots = [];
    /// <summary>Per subscription, the local position of the last snapshot an update was written for.</summary>
    private readonly Dictionary<string, Position> _updated = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private IReadOnlyCollection<string> _remotes;
    private long _messagesAtLastRequest = -1;
    private Task _run = Task.CompletedTask;

    private ReplicatedSubscriptions(Topic topic, string local, IReadOnlyCollection<string> remotes, ILogger logger)
        => (_topic, _local, _remotes, _logger) = (topic, local, remotes, logger);

    public static ReplicatedSubscriptions Start(Topic topic, string local, IReadOnlyCollection<string> remotes, ILogger logger)
    {
        var controller = new ReplicatedSubscriptions(topic, local, remotes, logger);
        controller._run = Task.Run(controller.RunAsync);
        return controller;
    }

    /// <summary>The remote clusters a snapshot waits for; a snapshot in progress that misses one is dropped.</summary>
    public void SetRemotes(IReadOnlyCollection<string> remotes) => Volatile.Write(ref _remotes, remotes);

    public static bool IsReplicated(Subscription subscription)
        => subscription.IsDurable && subscription.Cursor.Properties.TryGetValue(Property, out var flag) && flag == 1;

    /// <summary>Marks the subscription replicated (stored with its cursor); it stays so.</summary>
    public static async Task MarkReplicatedAsync(Subscription subscription, CancellationToken cancellationToken)
    {
        if (IsReplicated(subscription))
            return;
        var properties = new Dictionary<string, long>(subscription.Cursor.Properties, StringComparer.Ordinal) { [Property] = 1 };
        await subscription.Cursor.MarkDeleteAsync(subscription.Cursor.MarkDeletePosition, properties, cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(SnapshotInterval, _topic.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await TickAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (!_stop.IsCancellationRequested)
                {
                    LogFailed(_logger, _topic.Name.ToString(), e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Starts a snapshot when new messages came in, and writes the updates that subscriptions' progress allows.</summary>
    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var replicated = _topic.Subscriptions.Where(IsReplicated).ToList();
        var remotes = Volatile.Read(ref _remotes);
        if (replicated.Count == 0 || remotes.Count == 0)
            return;
        var now = _topic.Time.GetUtcNow();
        string? request = null;
        var updates = new List<SubscriptionUpdate>();
        lock (_lock)
        {
            foreach (var id in _pending.Where(p => now - p.Value.Started > PendingTimeout).Select(p => p.Key).ToList())
                _pending.Remove(id);
            var messagesIn = Interlocked.Read(ref _topic.MessagesIn);
            if (messagesIn != _messagesAtLastRequest && _pending.Count < MaxPending)
            {
                request = Guid.NewGuid().ToString("N");
                _pending[request] = new Pending(now);
                _messagesAtLastRequest = messagesIn;
            }
            foreach (var subscription in replicated)
            {
                var markDelete = subscription.Cursor.MarkDeletePosition;
                var snapshot = _snapshots.LastOrDefault(s => s.Local <= markDelete);
                if (snapshot is null || (_updated.TryGetValue(subscription.Name, out var done) && done >= snapshot.Local))
                    continue;
                _updated[subscription.Name] = snapshot.Local;
                var update = new SubscriptionUpdate { Subscription = subscription.Name };
                foreach (var (cluster, position) in snapshot.Remote)
                    update.Positions.Add(new ClusterPosition { Cluster = cluster, LedgerId = position.LedgerId, EntryId = position.EntryId });
                updates.Add(update);
            }
        }
        if (request is not null)
            await _topic.PublishMarkerAsync(new ReplicationMarker { SnapshotRequest = new SnapshotRequest { SnapshotId = request, SourceCluster = _local } }, cancellationToken).ConfigureAwait(false);
        foreach (var update in updates)
            await _topic.PublishMarkerAsync(new ReplicationMarker { SubscriptionUpdate = update }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A marker another cluster's replicator stored here, at <paramref name="stored"/>.</summary>
    public async Task OnReplicatedMarkerAsync(ReplicationMarker marker, Position stored, CancellationToken cancellationToken)
    {
        switch (marker.MarkerCase)
        {
            case ReplicationMarker.MarkerOneofCase.SnapshotRequest when marker.SnapshotRequest.SourceCluster != _local:
                // Everything up to the last confirmed entry (the request included) precedes the response in this log.
                var last = _topic.Ledger.LastConfirmedEntry;
                await _topic.PublishMarkerAsync(new ReplicationMarker
                {
                    SnapshotResponse = new SnapshotResponse
                    {
                        SnapshotId = marker.SnapshotRequest.SnapshotId, SourceCluster = marker.SnapshotRequest.SourceCluster, Cluster = _local,
                        LedgerId = last.LedgerId, EntryId = last.EntryId,
                    },
                }, cancellationToken).ConfigureAwait(false);
                break;
            case ReplicationMarker.MarkerOneofCase.SnapshotResponse when marker.SnapshotResponse.SourceCluster == _local:
                OnResponse(marker.SnapshotResponse, stored);
                break;
            case ReplicationMarker.MarkerOneofCase.SubscriptionUpdate:
                await OnUpdateAsync(marker.SubscriptionUpdate, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private void OnResponse(SnapshotResponse response, Position stored)
    {
        var remotes = Volatile.Read(ref _remotes);
        lock (_lock)
        {
            if (!_pending.TryGetValue(response.SnapshotId, out var pending))
                return;
            pending.Remote[response.Cluster] = new Position(response.LedgerId, response.EntryId);
            if (!remotes.All(pending.Remote.ContainsKey))
                return;
            _pending.Remove(response.SnapshotId);
            // Responses are stored in order: this last one is after every earlier one, so past it, past them all.
            _snapshots.Add(new Snapshot(stored, pending.Remote));
            if (_snapshots.Count > MaxSnapshots)
                _snapshots.RemoveAt(0);
        }
    }

    private async Task OnUpdateAsync(SubscriptionUpdate update, CancellationToken cancellationToken)
    {
        var mine = update.Positions.FirstOrDefault(p => p.Cluster == _local);
        if (mine is null || Topic.IsSystemCursor(update.Subscription))
            return;
        var position = new Position(mine.LedgerId, mine.EntryId);
        var subscription = await _topic.GetOrCreateSubscriptionAsync(update.Subscription, InitialPosition.Earliest, cancellationToken).ConfigureAwait(false);
        await MarkReplicatedAsync(subscription, cancellationToken).ConfigureAwait(false);
        if (position > subscription.Cursor.MarkDeletePosition)
        {
            await subscription.Cursor.AckCumulativeAsync(new AckPosition(position), cancellationToken).ConfigureAwait(false);
            LogMoved(_logger, _topic.Name.ToString(), update.Subscription, position.ToString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private sealed class Pending(DateTimeOffset started)
    {
        public DateTimeOffset Started { get; } = started;
        public Dictionary<string, Position> Remote { get; } = new(StringComparer.Ordinal);
    }

    private sealed record Snapshot(Position Local, IReadOnlyDictionary<string, Position> Remote);

    [LoggerMessage(EventId = 4034, EventName = "ReplicatedSubscriptionMoved", Level = LogLevel.Debug, Message = "Subscription {Subscription} of {Topic} moved to {Position}, as another cluster's consumer had got past it")]
    private static partial void LogMoved(ILogger logger, string topic, string subscription, string position);

    [LoggerMessage(EventId = 4035, EventName = "ReplicatedSubscriptionsFailed", Level = LogLevel.Warning, Message = "Keeping the replicated subscriptions of {Topic} in step failed; trying again in a second: {Reason}")]
    private static partial void LogFailed(ILogger logger, string topic, string reason);
}
