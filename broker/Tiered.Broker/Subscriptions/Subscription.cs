using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Subscriptions.Delayed;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Subscriptions;

/// <summary>
/// A subscription of a topic: its cursor and its consumers. Exclusive and Failover hand every
/// entry, in order, to the one active consumer; Shared hands each entry to one consumer in turn
/// among those with permits; Key_Shared hands each message to the consumer owning its key's hash
/// (Subscription.KeyShared.cs). Entries delivered but not acknowledged are redelivered (in order,
/// before new ones) when their consumer disconnects or asks for it. One dispatch loop reads the
/// cursor; consumers, permits and pending entries are guarded by one lock never held across an await.
/// </summary>
public sealed partial class Subscription : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly List<Consumer> _consumers = [];
    private readonly SortedSet<Position> _redeliver = [];
    private readonly Dictionary<Position, int> _redeliveryCounts = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Task _dispatching;
    private int _nextShared;
    private int _waitingForEntries;

    public Subscription(string topic, string name, ManagedCursor cursor, int partition, ILogger logger, TimeProvider time, DelayedDeliveryOptions? delayedDelivery = null)
    {
        (Topic, Name, Cursor, Partition, _logger, _time) = (topic, name, cursor, partition, logger, time);
        _delayed = (delayedDelivery ?? new()).CreateTracker();
        Rates = new RateMeter(time);
        LoadRedeliveryCounts();
        _dispatching = Task.Run(DispatchLoopAsync);
    }

    public string Topic { get; }

    public string Name { get; }

    public ManagedCursor Cursor { get; }

    /// <summary>The topic's partition index, -1 when it is not a partition; carried in message ids.</summary>
    public int Partition { get; }

    /// <summary>The type of the consumers connected now (or last connected).</summary>
    public SubscriptionType Type { get; private set; }

    public bool IsDurable => Cursor.IsDurable;

    public IReadOnlyList<Consumer> Consumers
    {
        get
        {
            lock (_lock)
                return [.. _consumers];
        }
    }

    public int ConsumerCount
    {
        get
        {
            lock (_lock)
                return _consumers.Count;
        }
    }

    public long MessagesOut;
    public long BytesOut;

    /// <summary>Messages delivered again (after a disconnect or a redelivery request).</summary>
    public long MessagesRedelivered;

    /// <summary>When messages were last delivered / acknowledged on the subscription, ms since the epoch (0: never since loaded).</summary>
    public long LastConsumedMs;
    public long LastAckedMs;

    /// <summary>Rates of <see cref="MessagesOut"/>, <see cref="BytesOut"/> and <see cref="MessagesRedelivered"/>.</summary>
    public RateMeter Rates { get; }

    /// <summary>Adds a consumer; refused when the type differs from the connected consumers' or an exclusive consumer is connected.</summary>
    public void AddConsumer(Consumer consumer)
    {
        Consumer? previousActive;
        lock (_lock)
        {
            if (_stop.IsCancellationRequested)
                throw new BrokerException(BrokerErrorCode.Unavailable, $"Subscription {Name} of {Topic} is closing; retry.");
            if (_consumers.Count > 0 && _consumers[0].Type != consumer.Type)
                throw new BrokerException(BrokerErrorCode.Conflict,
                    $"Subscription {Name} of {Topic} has {_consumers[0].Type} consumers connected; a {consumer.Type} consumer cannot join it.");
            if (_consumers.Count > 0 && consumer.Type == SubscriptionType.Exclusive)
                throw new BrokerException(BrokerErrorCode.Conflict,
                    $"Exclusive subscription {Name} of {Topic} already has a consumer ({_consumers[0].Name}); use another subscription name or a Shared or Failover subscription.");
            KeySharedJoining(consumer);
            previousActive = _consumers.Count > 0 ? _consumers[0] : null;
            _consumers.Add(consumer);
            // A consumer reads through the cursor: the managed ledger caches added entries while it reads near the tail.
            Cursor.SetActive();
            OnTypeChanging(consumer.Type); // Delayed delivery
            Type = consumer.Type;
            KeySharedChanged(consumer);
        }
        if (consumer.Type == SubscriptionType.Failover)
            consumer.Outbox.Writer.TryWrite(ActiveChanged(previousActive is null));
        Wake();
    }

    /// <summary>Removes a consumer; what it had not acknowledged goes to the others (the next standby for Failover).</summary>
    public void RemoveConsumer(Consumer consumer)
    {
        Consumer? newActive = null;
        lock (_lock)
        {
            var index = _consumers.IndexOf(consumer);
            if (index < 0)
                return;
            _consumers.RemoveAt(index);
            if (_consumers.Count == 0)
                Cursor.SetInactive();
            KeySharedChanged(consumer);
            foreach (var position in consumer.Pending.Keys.ToList())
                Requeue(consumer, position);
            if (index == 0 && consumer.Type == SubscriptionType.Failover && _consumers.Count > 0)
                newActive = _consumers[0];
        }
        newActive?.Outbox.Writer.TryWrite(ActiveChanged(true));
        Wake();
    }

    public void AddPermits(Consumer consumer, uint permits)
    {
        lock (_lock)
            consumer.Permits += permits;
        Wake();
    }

    /// <summary>Gives the consumer's unacknowledged entries (all, or those listed) to be delivered again.</summary>
    public void Redeliver(Consumer consumer, IReadOnlyCollection<Position>? positions)
    {
        lock (_lock)
        {
            var chosen = positions is { Count: > 0 } ? positions : [.. consumer.Pending.Keys];
            foreach (var position in chosen)
                Requeue(consumer, position);
        }
        Wake();
    }

    /// <summary>Moves the subscription so that <paramref name="nextToRead"/> is delivered next; connected consumers are disconnected and reconnect.</summary>
    public async Task ResetAsync(Position nextToRead, CancellationToken cancellationToken)
    {
        await Cursor.ResetAsync(nextToRead, cancellationToken).ConfigureAwait(false);
        DisconnectAll("the subscription was reset; reconnect to receive from its new position");
        lock (_lock)
        {
            _redeliver.Clear();
            _redeliveryCounts.Clear();
            ClearDelayed();
            ClearKeyState();
        }
        Wake();
    }

    /// <summary>Closes every consumer's stream (they see UNAVAILABLE with the reason and reconnect).</summary>
    public void DisconnectAll(string reason)
    {
        foreach (var consumer in Consumers)
        {
            RemoveConsumer(consumer);
            consumer.Close(reason);
        }
    }

    public long UnackedMessages
    {
        get
        {
            lock (_lock)
                return _consumers.Sum(c => c.PendingMessages);
        }
    }

    public async ValueTask DisposeAsync()
    {
        DisconnectAll("the subscription is closing");
        await CloseNegativeAcksAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _dispatching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        DisposeDelayed();
        _stop.Dispose();
    }

    private void Forget(Consumer consumer, Position position)
    {
        if (consumer.Pending.Remove(position, out var pending))
        {
            consumer.PendingMessages -= pending.Unacknowledged;
            ReleaseKeys(consumer, pending);
        }
        _redeliveryCounts.Remove(position);
    }

    /// <summary>Under the lock: a batch entry partly acknowledged counts only its messages not acknowledged as unacknowledged.</summary>
    private void Recount(Consumer consumer, AckPosition ack)
    {
        if (ack.BatchSize <= 1 || !consumer.Pending.TryGetValue(ack.Position, out var pending))
            return;
        if (pending.Keys?.Held is { } held)
        {
            RecountKeyPart(consumer, ack.Position, pending, held);
            return;
        }
        var left = Math.Max(0, ack.BatchSize - Cursor.AckedBatchCount(ack.Position));
        if (left >= pending.Unacknowledged)
            return;
        consumer.Pending[ack.Position] = pending with { Unacknowledged = left };
        consumer.PendingMessages -= pending.Unacknowledged - left;
    }

    /// <summary>
    /// Under the lock: the one way an entry a consumer holds goes back to be delivered again (disconnect,
    /// redelivery request, negative ack, ack timeout); false when the consumer does not hold it.
    /// </summary>
    private bool Requeue(Consumer consumer, Position position)
    {
        if (!consumer.Pending.Remove(position, out var pending))
            return false;
        consumer.PendingMessages -= pending.Unacknowledged;
        KeysReturned(consumer, position, pending);
        QueueRedelivery(position);
        return true;
    }

    private void QueueRedelivery(Position position)
    {
        _redeliver.Add(position);
        var count = _redeliveryCounts[position] = _redeliveryCounts.GetValueOrDefault(position) + 1;
        Cursor.SetRedeliveryCount(position, count);
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private static Wire.ConsumeResponse ActiveChanged(bool active)
        => new() { ActiveConsumerChanged = new ActiveConsumerChanged { IsActive = active } };
}
