using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Broker.Subscriptions;
using Tiered.Broker.Subscriptions.Delayed;
using Tiered.ManagedLedgers;
using Tiered.V1;
using InitialPosition = Tiered.ManagedLedgers.InitialPosition;

namespace Tiered.Broker.Topics;

/// <summary>
/// A topic this broker serves: its managed ledger, its subscriptions (one per durable cursor,
/// plus one per connected reader) and its producers.
/// </summary>
public sealed partial class Topic : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, ProducerInfo> _producers = new();
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private readonly ILoggerFactory _loggerFactory;
    private readonly DelayedDeliveryOptions _delayedDelivery;
    private long _nextReader;
    private readonly Lock _publishing = new();
    /// <summary>The last add handed to the ledger, held until the next one (terminating and closing wait for it).</summary>
    private AddHandle _lastPublish;
    private Position? _terminatedAt;
    private bool _terminating;

    private Topic(TopicName name, ManagedLedger ledger, ILoggerFactory loggerFactory, TimeProvider time, DelayedDeliveryOptions? delayedDelivery)
    {
        (Name, Ledger, _loggerFactory, Time) = (name, ledger, loggerFactory, time);
        _delayedDelivery = delayedDelivery ?? new();
        InRates = new RateMeter(time);
        OutRates = new RateMeter(time);
        CollectedInRates = new RateMeter(time);
        CollectedOutRates = new RateMeter(time);
        foreach (var cursor in ledger.Cursors)
        {
            if (!IsSystemCursor(cursor.Name))
                _subscriptions[cursor.Name] = NewSubscription(cursor.Name, cursor);
        }
    }

    /// <summary>Names the broker keeps for its own cursors (de-duplication, later replication): never subscriptions.</summary>
    public const string SystemCursorPrefix = "tiered.";

    public static bool IsSystemCursor(string name) => name.StartsWith(SystemCursorPrefix, StringComparison.Ordinal);

    /// <summary>The prefix of the replicators' cursors, one per remote cluster: <c>tiered.repl.{remote}</c>.</summary>
    public const string ReplicatorCursorPrefix = SystemCursorPrefix + "repl.";

    private readonly ConcurrentDictionary<string, Replication.IReplicator> _replicators = new(StringComparer.Ordinal);

    /// <summary>The running replicators, one per remote cluster the topic is replicated to.</summary>
    public IReadOnlyCollection<Replication.IReplicator> Replicators => [.. _replicators.Values];

    /// <summary>
    /// Replicates to exactly <paramref name="remotes"/>: starts a replicator for each new one (<paramref name="start"/>),
    /// stops those no longer listed and deletes their cursors, so their backlog no longer holds entries back (a cluster
    /// added again starts from the earliest retained message).
    /// </summary>
    /// <param name="local">This cluster's name (the markers of replicated subscriptions carry it).</param>
    public async Task SetReplicationAsync(IReadOnlyCollection<string> remotes, string local, Func<string, Task<Replication.IReplicator>> start, CancellationToken cancellationToken)
    {
        if (remotes.Count > 0)
        {
            if (ReplicatedSubscriptions is { } running)
                running.SetRemotes(remotes);
            else
                ReplicatedSubscriptions = Replication.ReplicatedSubscriptions.Start(this, local, remotes, _loggerFactory.CreateLogger<Replication.ReplicatedSubscriptions>());
        }
        else if (ReplicatedSubscriptions is { } stopping)
        {
            ReplicatedSubscriptions = null;
            await stopping.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var remote in remotes)
        {
            if (!_replicators.ContainsKey(remote))
                _replicators[remote] = await start(remote).ConfigureAwait(false);
        }
        foreach (var (remote, replicator) in _replicators)
        {
            if (!remotes.Contains(remote) && _replicators.TryRemove(remote, out _))
            {
                await replicator.DisposeAsync().ConfigureAwait(false);
                await Ledger.DeleteCursorAsync(ReplicatorCursorPrefix + remote, cancellationToken).ConfigureAwait(false);
            }
        }
        // Cursors of clusters removed while the topic was not loaded here.
        foreach (var cursor in Ledger.Cursors)
        {
            if (cursor.Name.StartsWith(ReplicatorCursorPrefix, StringComparison.Ordinal) && !remotes.Contains(cursor.Name[ReplicatorCursorPrefix.Length..]))
                await Ledger.DeleteCursorAsync(cursor.Name, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Replicated subscriptions' bookkeeping, while the topic is replicated to another cluster.</summary>
    internal Replication.ReplicatedSubscriptions? ReplicatedSubscriptions { get; private set; }

    /// <summary>Appends a marker entry (never delivered to consumers; replicators forward it), not de-duplicated.</summary>
    internal async Task<Position> PublishMarkerAsync(Wire.ReplicationMarker marker, CancellationToken cancellationToken)
    {
        var batch = new Wire.MarkerBatch
        {
            FormatVersion = Entries.BatchHeader.CurrentFormatVersion,
            ProducerName = Replication.ReplicatedSubscriptions.MarkerProducer,
            PublishTimeMs = Time.GetUtcNow().ToUnixTimeMilliseconds(),
            Marker = marker,
        }.ToByteArray();
        var position = await PublishAsync(batch, 0, producerKey: null, 0, 0, out _, cancellationToken).ConfigureAwait(false);
        MessageCounts.Record(position, 0);
        return position;
    }

    /// <summary>
    /// Stores a marker another cluster's replicator forwarded (<paramref name="marker"/>: where it is in the batch) and
    /// acts on it once stored. Acting on it may fail (logged): the next snapshot, a second later, stands in for it.
    /// </summary>
    internal async ValueTask<Position> StoreReplicatedMarkerAsync(ReadOnlyMemory<byte> batch, Range marker)
    {
        var position = await PublishAsync(batch, 0, producerKey: null, 0, 0, out _, CancellationToken.None).ConfigureAwait(false);
        if (ReplicatedSubscriptions is { } replicated)
        {
            try
            {
                await replicated.OnReplicatedMarkerAsync(Wire.ReplicationMarker.Parser.ParseFrom(batch.Span[marker]), position, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                BrokerLog.ReplicatedMarkerFailed(_loggerFactory.CreateLogger<Topic>(), Name.ToString(), position.ToString(), e.Message);
            }
        }
        return position;
    }

    /// <summary>Producer de-duplication, when it applies to this topic (<see cref="SetDeduplicationAsync"/>).</summary>
    internal Deduplication? Deduplication { get; private set; }

    public TopicName Name { get; }

    public ManagedLedger Ledger { get; }

    public IReadOnlyCollection<Subscription> Subscriptions => [.. _subscriptions.Values];

    public IReadOnlyCollection<ProducerInfo> Producers => [.. _producers.Values];

    /// <summary>The clock of rates and stats timestamps (the managed ledger's).</summary>
    public TimeProvider Time { get; }

    /// <summary>Rates of <see cref="MessagesIn"/> and <see cref="BytesIn"/>.</summary>
    public RateMeter InRates { get; }

    /// <summary>Rates of what the subscriptions delivered.</summary>
    public RateMeter OutRates { get; }

    /// <summary>Messages per entry, for backlogs in messages.</summary>
    public MessageCounts MessageCounts { get; } = new();

    /// <summary>The topic's offload to tiered storage: running or how the last one ended.</summary>
    public TopicOffload Offload { get; } = new();

    public long MessagesIn;
    public long BytesIn;

    /// <summary>Messages delivered by subscriptions since removed (readers gone, subscriptions deleted), for <see cref="MessagesOutTotal"/>.</summary>
    private long _removedMessagesOut;
    private long _removedBytesOut;

    /// <summary>Messages every subscription, present or removed, delivered since the topic was loaded.</summary>
    public long MessagesOutTotal
    {
        get
        {
            var sum = Interlocked.Read(ref _removedMessagesOut);
            foreach (var subscription in _subscriptions.Values)
                sum += Interlocked.Read(ref subscription.MessagesOut);
            return sum;
        }
    }

    /// <summary>Bytes every subscription, present or removed, delivered since the topic was loaded.</summary>
    public long BytesOutTotal
    {
        get
        {
            var sum = Interlocked.Read(ref _removedBytesOut);
            foreach (var subscription in _subscriptions.Values)
                sum += Interlocked.Read(ref subscription.BytesOut);
            return sum;
        }
    }

    /// <summary>Rates for the metrics exporter, apart from <see cref="InRates"/> and <see cref="OutRates"/> so that stats calls and scrapes do not shorten each other's periods.</summary>
    internal RateMeter CollectedInRates { get; }

    internal RateMeter CollectedOutRates { get; }

    /// <summary>The labels of this topic's measurements (set by the registry when it loads the topic).</summary>
    internal KeyValuePair<string, object?>[] MetricTags { get; set; } = [];

    public int ProducerCount => _producers.Count;

    public int SubscriptionCount => _subscriptions.Count;

    public int ConsumerCount()
    {
        var count = 0;
        foreach (var subscription in _subscriptions.Values)
            count += subscription.ConsumerCount;
        return count;
    }

    /// <summary>Messages not acknowledged, summed over the subscriptions (Pulsar's msgBacklog of a topic).</summary>
    public long TotalBacklogMessages()
    {
        long sum = 0;
        foreach (var subscription in _subscriptions.Values)
            sum += BacklogOf(subscription).Messages;
        return sum;
    }

    /// <summary>Bytes of the ledgers still on the bookies (Pulsar's storageSize).</summary>
    public long StorageSize()
    {
        long sum = 0;
        foreach (var ledger in Ledger.Ledgers)
        {
            if (!ledger.BookieDeleted)
                sum += ledger.Size;
        }
        return sum;
    }

    /// <summary>Opens the topic's managed ledger (recovering it from a previous owner) and its subscriptions.</summary>
    public static async Task<Topic> OpenAsync(TopicName name, Func<string, Task<ManagedLedger>> openLedger, ILoggerFactory loggerFactory, TimeProvider time,
        DelayedDeliveryOptions? delayedDelivery = null)
    {
        var ledger = await openLedger(name.ManagedLedgerName).ConfigureAwait(false);
        return new Topic(name, ledger, loggerFactory, time, delayedDelivery);
    }

    /// <summary>
    /// Stores a batch of producer <paramref name="producerKey"/> (<see cref="Deduplication.KeyOf"/>) with sequence ids
    /// <paramref name="firstSequenceId"/>..<paramref name="lastSequenceId"/>, unless de-duplication finds it stored
    /// already: then <paramref name="duplicate"/> is true and the result is the original's position (or
    /// <see cref="Deduplication.UnknownPosition"/> when it is no longer remembered). A batch that overlaps one
    /// stored is refused (<see cref="BrokerException"/> BadRequest). Without a key, or with de-duplication off, stores.
    /// Completes with the position, in call order; once the topic is terminated it fails with a
    /// <see cref="BrokerException"/> (Conflict) that says so.
    /// </summary>
    public ValueTask<Position> PublishAsync(ReadOnlyMemory<byte> batch, int messages, string? producerKey, long firstSequenceId, long lastSequenceId,
        out bool duplicate, CancellationToken cancellationToken)
    {
        duplicate = false;
        ValueTask<Position> added;
        // One short uncontended lock per batch: terminating must see every add handed to the ledger before it,
        // and de-duplication every add before the next one.
        lock (_publishing)
        {
            if (_terminating || _terminatedAt is not null)
                return ValueTask.FromException<Position>(Terminated(_terminatedAt ?? Ledger.LastConfirmedEntry));
            var dedup = producerKey is null ? null : Deduplication;
            // Read before the failed adds are taken in: an add failing after this refuses the batch below, so that
            // it never lands in the next ledger behind a failed earlier one (its resend would look like a duplicate).
            var failures = dedup is null ? -1 : Ledger.AddFailures;
            if (dedup is not null)
            {
                dedup.Drain();
                switch (dedup.Check(producerKey!, firstSequenceId, lastSequenceId, out var original))
                {
                    case Deduplication.Verdict.Duplicate:
                        duplicate = true;
                        return original;
                    case Deduplication.Verdict.ResendEarlier:
                        return ValueTask.FromException<Position>(new ManagedLedgerException(
                            $"An earlier batch of producer {producerKey} on {Name} was not stored; send again from that one, in order."));
                    case Deduplication.Verdict.Overlap:
                        return ValueTask.FromException<Position>(new BrokerException(BrokerErrorCode.BadRequest,
                            $"Sequence ids {firstSequenceId}..{lastSequenceId} of producer {producerKey} overlap ids already stored on {Name} (the highest is {dedup.LastSequenceId(producerKey!)}): "
                            + "a producer must number its messages increasing and resend a batch unchanged."));
                }
            }
            // The ledger's add is pooled: the caller awaits it once, and the handle (for the last publish, and for
            // de-duplication) keeps its outcome readable until released; no task is made unless a resend waits for it.
            added = Ledger.AddEntryAsync(batch, failures, out var handle, cancellationToken);
            _lastPublish.Release();
            _lastPublish = handle;
            dedup?.Pushed(producerKey!, firstSequenceId, lastSequenceId, handle.Share());
        }
        Interlocked.Add(ref MessagesIn, messages);
        Interlocked.Add(ref BytesIn, batch.Length);
        return added;
    }

    /// <summary>The highest sequence id stored or being stored for <paramref name="producerKey"/>; -1 when unknown or de-duplication is off.</summary>
    public long LastSequenceId(string producerKey)
    {
        lock (_publishing)
            return Deduplication?.LastSequenceId(producerKey) ?? -1;
    }

    /// <summary>
    /// Stores the de-duplication state as it is (the maintenance does, before trimming: until then the dedup cursor
    /// holds back the entries stored since the last snapshot, which are at most <see cref="Deduplication.SnapshotInterval"/>).
    /// </summary>
    public Task SnapshotDeduplicationAsync()
    {
        lock (_publishing)
            return Deduplication?.SnapshotNow() ?? Task.CompletedTask;
    }

    /// <summary>
    /// Turns de-duplication on (restoring its state from the topic's dedup cursor and the entries after it) or off
    /// (deleting that cursor, which then no longer holds entries back). Producers should not publish meanwhile:
    /// the registry calls it when it loads the topic and when the policy changed.
    /// </summary>
    public async Task SetDeduplicationAsync(bool enabled, CancellationToken cancellationToken)
    {
        if (enabled == Deduplication is not null)
            return;
        if (enabled)
        {
            var dedup = await Deduplication.OpenAsync(Ledger, _publishing, Time, _loggerFactory.CreateLogger<Deduplication>(), cancellationToken).ConfigureAwait(false);
            lock (_publishing)
                Deduplication = dedup;
        }
        else
        {
            lock (_publishing)
                Deduplication = null;
            await Ledger.DeleteCursorAsync(Deduplication.CursorName, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Where the topic was terminated (its last message), or null while it accepts messages.</summary>
    public Position? TerminatedAt
    {
        get
        {
            lock (_publishing)
                return _terminatedAt;
        }
    }

    /// <summary>
    /// Refuses every later publish, waits for the ones already handed to the ledger, and answers the
    /// position of the last message (Pulsar's terminate). Idempotent: a terminated topic answers where it ended.
    /// </summary>
    public async Task<Position> TerminateAsync()
    {
        ValueTask<Position> last;
        lock (_publishing)
        {
            if (_terminatedAt is { } at)
                return at;
            _terminating = true;
            last = _lastPublish.WaitAsync();
        }
        await WhenDoneAsync(last).ConfigureAwait(false);
        var end = Ledger.LastConfirmedEntry;
        MarkTerminated(end);
        return end;
    }

    /// <summary>Waits for an add, whatever its outcome.</summary>
    private static async ValueTask WhenDoneAsync(ValueTask<Position> add)
    {
        try
        {
            await add.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Failed or refused: done all the same.
        }
    }

    /// <summary>Sets the terminated state (read back from the metadata service when the topic loads).</summary>
    public void MarkTerminated(Position at)
    {
        lock (_publishing)
        {
            _terminatedAt = at;
            _terminating = false;
        }
    }

    /// <summary>Undoes a termination whose record could not be stored: the topic accepts messages again.</summary>
    public void CancelTermination()
    {
        lock (_publishing)
        {
            _terminatedAt = null;
            _terminating = false;
        }
    }

    /// <summary>Refuses a producer opening on a terminated topic (or one being terminated), with where it ended.</summary>
    public void ThrowIfTerminated()
    {
        lock (_publishing)
        {
            if (_terminating || _terminatedAt is not null)
                throw Terminated(_terminatedAt ?? Ledger.LastConfirmedEntry);
        }
    }

    private BrokerException Terminated(Position at)
        => new(BrokerErrorCode.Conflict, $"Topic {Name} was terminated at {at}: it accepts no more messages (consumers can still read to the end).");

    public void AddProducer(ProducerInfo producer) => _producers[producer.Id] = producer;

    public void RemoveProducer(ProducerInfo producer) => _producers.TryRemove(producer.Id, out _);

    public Subscription? FindSubscription(string name) => _subscriptions.GetValueOrDefault(name);

    /// <summary>The durable subscription, created at <paramref name="initial"/> if it does not exist.</summary>
    public async Task<Subscription> GetOrCreateSubscriptionAsync(string name, InitialPosition initial, CancellationToken cancellationToken)
    {
        if (IsSystemCursor(name))
            throw new BrokerException(BrokerErrorCode.BadName, $"Subscription names starting with \"{SystemCursorPrefix}\" are reserved for the broker's own cursors; choose another name.");
        if (_subscriptions.TryGetValue(name, out var existing))
            return existing;
        await _subscribing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_subscriptions.TryGetValue(name, out existing))
                return existing;
            var cursor = await Ledger.OpenCursorAsync(name, initial, cancellationToken).ConfigureAwait(false);
            var subscription = NewSubscription(name, cursor);
            _subscriptions[name] = subscription;
            return subscription;
        }
        finally
        {
            _subscribing.Release();
        }
    }

    /// <summary>A subscription of its own for a reader: not stored, starting after <paramref name="startExclusive"/>.</summary>
    public Subscription CreateReader(Position startExclusive)
    {
        var name = $"reader-{Interlocked.Increment(ref _nextReader)}";
        var subscription = NewSubscription(name, Ledger.OpenNonDurableCursor(startExclusive));
        _subscriptions[name] = subscription;
        return subscription;
    }

    /// <summary>Drops a reader's subscription once its consumer left.</summary>
    public async Task RemoveReaderAsync(Subscription reader)
    {
        if (!reader.IsDurable && _subscriptions.TryRemove(reader.Name, out _))
        {
            KeepCountsOf(reader);
            await reader.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Deletes a durable subscription; refused while consumers are connected unless <paramref name="force"/>.</summary>
    public async Task DeleteSubscriptionAsync(string name, bool force, CancellationToken cancellationToken)
    {
        if (!_subscriptions.TryGetValue(name, out var subscription) || !subscription.IsDurable)
            throw new BrokerException(BrokerErrorCode.SubscriptionNotFound, $"Subscription {name} does not exist on {Name}.");
        if (!force && subscription.Consumers.Count > 0)
            throw new BrokerException(BrokerErrorCode.Conflict,
                $"Subscription {name} of {Name} has {subscription.Consumers.Count} connected consumer(s); disconnect them first or delete with force=true.");
        if (_subscriptions.TryRemove(name, out _))
            KeepCountsOf(subscription);
        await subscription.DisposeAsync().ConfigureAwait(false);
        await Ledger.DeleteCursorAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Whether producers or consumers are connected.</summary>
    public bool IsInUse => !_producers.IsEmpty || _subscriptions.Values.Any(s => s.Consumers.Count > 0);

    /// <summary>Closes every producer and consumer stream with <paramref name="reason"/>.</summary>
    public void DisconnectAll(string reason)
    {
        foreach (var producer in _producers.Values)
            producer.Close(reason);
        foreach (var subscription in _subscriptions.Values)
            subscription.DisconnectAll(reason);
    }

    /// <summary>The broker serving this topic now that it moved away from this one; its closed clients are sent there.</summary>
    public BrokerUrls? NewOwner { get; private set; }

    /// <summary>Records where the topic moved, before it is unloaded.</summary>
    internal void MarkMoved(BrokerUrls owner) => NewOwner = owner;

    public async ValueTask DisposeAsync()
    {
        DisconnectAll(NewOwner is { } owner
            ? $"topic {Name} moved to the broker at {owner.GrpcUrl}; connect there"
            : $"topic {Name} is closing on this broker; look it up again");
        foreach (var replicator in _replicators.Values)
            await replicator.DisposeAsync().ConfigureAwait(false);
        _replicators.Clear();
        if (ReplicatedSubscriptions is { } replicated)
            await replicated.DisposeAsync().ConfigureAwait(false);
        ValueTask<Position> last = default;
        Deduplication? dedup;
        lock (_publishing)
        {
            dedup = Deduplication;
            if (dedup is not null)
                last = _lastPublish.WaitAsync();
        }
        if (dedup is not null)
        {
            // A snapshot covering every stored batch, so that the next owner replays nothing.
            await WhenDoneAsync(last).ConfigureAwait(false);
            await dedup.CloseAsync().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        foreach (var subscription in _subscriptions.Values)
            await subscription.DisposeAsync().ConfigureAwait(false);
        await Ledger.DisposeAsync().ConfigureAwait(false);
        _subscribing.Dispose();
    }

    private void KeepCountsOf(Subscription removed)
    {
        Interlocked.Add(ref _removedMessagesOut, Interlocked.Read(ref removed.MessagesOut));
        Interlocked.Add(ref _removedBytesOut, Interlocked.Read(ref removed.BytesOut));
    }

    private Subscription NewSubscription(string name, ManagedCursor cursor)
        => new(Name.ToString(), name, cursor, Name.PartitionIndex, _loggerFactory.CreateLogger<Subscription>(), Time, _delayedDelivery);
}

/// <summary>A connected producer, for stats and for closing its stream.</summary>
public sealed class ProducerInfo(string name, string? address, TimeProvider time)
{
    private static long _nextId;
    private readonly CancellationTokenSource _closed = new();

    public long Id { get; } = Interlocked.Increment(ref _nextId);
    public string Name { get; } = name;
    public string? Address { get; } = address;
    public DateTimeOffset ConnectedSince { get; } = DateTimeOffset.UtcNow;
    public string? CloseReason { get; private set; }
    public CancellationToken Closed => _closed.Token;
    public long MessagesIn;
    public long BytesIn;

    /// <summary>Rates of <see cref="MessagesIn"/> and <see cref="BytesIn"/>.</summary>
    public RateMeter Rates { get; } = new(time);

    public void Close(string reason)
    {
        CloseReason ??= reason;
        _closed.Cancel();
    }
}
