using Tiered.ManagedLedgers;

namespace Tiered.Broker.Subscriptions;

/// <summary>
/// Negative acknowledgements, the ack timeout and persisted redelivery counts (docs/messaging.md). A negatively
/// acknowledged entry stays with its consumer until its delay has passed, then goes back through
/// <see cref="Requeue"/>; an entry held longer than its consumer's ack timeout goes back the same way. Both count as
/// a redelivery. The count an entry's next delivery carries is stored with the cursor before that delivery
/// (<see cref="StoreRedeliveryCountsAsync"/>), so that it survives a restart or a move to another broker.
/// </summary>
public sealed partial class Subscription
{
    /// <summary>
    /// Negatively acknowledged entries by when they are due (ms since the epoch), with when they were delivered (an
    /// entry delivered again since is not this negative ack's); guarded by the lock.
    /// </summary>
    private readonly PriorityQueue<(Consumer Consumer, Position Position, long DeliveredAtMs), long> _nacked = new();
    private ITimer? _nackTimer;
    private long _nackTimerDueMs = long.MaxValue;
    private ITimer? _ackTimeoutTimer;
    private long _ackTimeoutTickMs;

    /// <summary>Messages negatively acknowledged, and messages held past an ack timeout, on this subscription.</summary>
    public long MessagesNegativelyAcked;
    public long MessagesAckTimedOut;

    /// <summary>
    /// Delivers the consumer's entries again after its negative-ack delay (growing with the entry's redelivery count
    /// when it has a maximum delay). An entry the consumer does not hold (acknowledged, or already gone back) is
    /// skipped; a position the topic does not have, or a batch index beyond the entry's batch, refuses the whole
    /// request and changes nothing.
    /// </summary>
    public void NegativeAck(Consumer consumer, IReadOnlyList<(Position Position, int BatchIndex)> ids)
    {
        var last = Cursor.Ledger.LastConfirmedEntry;
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var firstDue = long.MaxValue;
        lock (_lock)
        {
            foreach (var (position, batchIndex) in ids)
            {
                if (position > last || position.EntryId < 0 || position.LedgerId < 0)
                    throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {position} does not exist in {Topic} (its last is {last}); a negative ack names a message delivered to this consumer.");
                if (consumer.Pending.TryGetValue(position, out var pending) && (batchIndex < 0 || batchIndex >= Math.Max(1, pending.BatchSize)))
                    throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {position} is in a batch of {pending.BatchSize} message(s): batch_index {batchIndex} does not exist.");
            }
            foreach (var (position, _) in ids)
            {
                if (!consumer.Pending.TryGetValue(position, out var pending) || pending.NegativelyAcked)
                    continue;
                consumer.Pending[position] = pending with { NegativelyAcked = true };
                var count = _redeliveryCounts.GetValueOrDefault(position);
                var due = now + NegativeAckDelayMs(consumer, count);
                _nacked.Enqueue((consumer, position, pending.DeliveredAtMs), due);
                firstDue = Math.Min(firstDue, due);
                // The next delivery carries count + 1, whatever happens meanwhile: stored now, a crash during the delay loses nothing.
                Cursor.SetRedeliveryCount(position, count + 1);
                Interlocked.Add(ref consumer.MessagesNegativelyAcked, pending.Unacknowledged);
                Interlocked.Add(ref MessagesNegativelyAcked, pending.Unacknowledged);
            }
            if (firstDue < _nackTimerDueMs)
                ScheduleNackTimer(firstDue, now);
        }
        if (firstDue != long.MaxValue)
            _ = StoreCountsInBackgroundAsync();
    }

    /// <summary>The consumer's delay for an entry delivered <paramref name="redeliveries"/> times before: fixed, or doubling up to the maximum.</summary>
    internal static long NegativeAckDelayMs(Consumer consumer, int redeliveries)
    {
        var delay = consumer.NegativeAckDelayMs;
        if (consumer.NegativeAckMaxDelayMs <= delay)
            return delay;
        var shift = Math.Min(redeliveries, 40);
        return delay > consumer.NegativeAckMaxDelayMs >> shift ? consumer.NegativeAckMaxDelayMs : Math.Min(consumer.NegativeAckMaxDelayMs, delay << shift);
    }

    /// <summary>Starts watching the consumer's ack timeout (call after <see cref="AddConsumer"/>); nothing when it has none.</summary>
    public void WatchAckTimeout(Consumer consumer)
    {
        if (consumer.AckTimeoutMs <= 0)
            return;
        // Checked a few times per timeout: an entry goes back at most a tenth of the timeout late (and at most 1 s).
        var tick = Math.Clamp(consumer.AckTimeoutMs / 10, 100, 1000);
        lock (_lock)
        {
            if (_ackTimeoutTimer is not null && _ackTimeoutTickMs <= tick)
                return;
            _ackTimeoutTickMs = tick;
            _ackTimeoutTimer ??= _time.CreateTimer(static state => ((Subscription)state!).OnAckTimeoutTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _ackTimeoutTimer.Change(TimeSpan.FromMilliseconds(tick), TimeSpan.FromMilliseconds(tick));
        }
    }

    private void OnAckTimeoutTick()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var requeued = false;
        lock (_lock)
        {
            var watching = false;
            foreach (var consumer in _consumers)
            {
                if (consumer.AckTimeoutMs <= 0)
                    continue;
                watching = true;
                List<Position>? expired = null;
                foreach (var (position, pending) in consumer.Pending)
                {
                    if (!pending.NegativelyAcked && now - pending.DeliveredAtMs >= consumer.AckTimeoutMs)
                        (expired ??= []).Add(position);
                }
                if (expired is null)
                    continue;
                foreach (var position in expired)
                {
                    var unacknowledged = consumer.Pending[position].Unacknowledged;
                    if (Requeue(consumer, position))
                    {
                        Interlocked.Add(ref consumer.MessagesAckTimedOut, unacknowledged);
                        Interlocked.Add(ref MessagesAckTimedOut, unacknowledged);
                        requeued = true;
                    }
                }
            }
            if (!watching && _ackTimeoutTimer is not null)
            {
                // No consumer with an ack timeout left: nothing ticks while idle.
                _ackTimeoutTimer.Dispose();
                _ackTimeoutTimer = null;
            }
        }
        if (requeued)
            Wake();
    }

    /// <summary>Under the lock: the nack timer fires at <paramref name="dueMs"/>.</summary>
    private void ScheduleNackTimer(long dueMs, long nowMs)
    {
        _nackTimerDueMs = dueMs;
        _nackTimer ??= _time.CreateTimer(static state => ((Subscription)state!).OnNackTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _nackTimer.Change(TimeSpan.FromMilliseconds(Math.Max(0, dueMs - nowMs)), Timeout.InfiniteTimeSpan);
    }

    private void OnNackTimer()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var requeued = false;
        lock (_lock)
        {
            _nackTimerDueMs = long.MaxValue;
            while (_nacked.TryPeek(out var item, out var due) && due <= now)
            {
                _nacked.Dequeue();
                if (item.Consumer.Pending.TryGetValue(item.Position, out var pending) && pending.NegativelyAcked && pending.DeliveredAtMs == item.DeliveredAtMs)
                    requeued |= Requeue(item.Consumer, item.Position);
            }
            if (_nacked.TryPeek(out _, out var next))
                ScheduleNackTimer(next, now);
        }
        if (requeued)
            Wake();
    }

    /// <summary>Loads the stored redelivery counts (constructor): an entry delivered before the restart carries its count on.</summary>
    private void LoadRedeliveryCounts()
    {
        if (!Cursor.IsDurable)
            return;
        foreach (var (position, count) in Cursor.RedeliveryCounts)
            _redeliveryCounts[position] = count;
        _deadLetterToFinish = Cursor.DeadLetterInFlight?.Position;
    }

    /// <summary>
    /// Before entries are delivered again: their redelivery counts are stored. On failure they go back to be
    /// redelivered (the dispatch loop tries again shortly).
    /// </summary>
    private async ValueTask StoreRedeliveryCountsAsync(List<Position> positions, CancellationToken cancellationToken)
    {
        try
        {
            await Cursor.StoreRedeliveryCountsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_lock)
            {
                foreach (var position in positions)
                    _redeliver.Add(position);
            }
            throw;
        }
    }

    private async Task StoreCountsInBackgroundAsync()
    {
        try
        {
            await Cursor.StoreRedeliveryCountsAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Stored again before the entry is delivered again (StoreRedeliveryCountsAsync).
            NegativeAckLog.CountsNotStored(_logger, Topic, Name, e.Message);
        }
    }

    /// <summary>
    /// On close (after the consumers left, their entries counted as delivered once more): stores the counts, so that
    /// a graceful restart or unload keeps them exact; stops the timers.
    /// </summary>
    private async Task CloseNegativeAcksAsync()
    {
        lock (_lock)
        {
            _nackTimer?.Dispose();
            _nackTimer = null;
            _nacked.Clear();
            _ackTimeoutTimer?.Dispose();
            _ackTimeoutTimer = null;
        }
        try
        {
            await Cursor.StoreRedeliveryCountsAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ManagedLedgerException or ObjectDisposedException)
        {
            NegativeAckLog.CountsNotStored(_logger, Topic, Name, e.Message);
        }
    }
}
