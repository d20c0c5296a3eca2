using Tiered.Broker.Entries;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Subscriptions;

public sealed partial class Subscription
{
    /// <summary>
    /// Acknowledges messages; completes once the cursor stored them. A message of a batch is
    /// acknowledged by its index in the batch; the batch's size comes from the entry (the consumer's
    /// delivery record, or the entry itself), never from the request: a size that does not match the
    /// entry, or an index beyond it, refuses the whole acknowledgement and changes nothing.
    /// </summary>
    /// <param name="acks">Positions with the batch index (-1: the whole entry) and the size the client gave (0: not given).</param>
    public async ValueTask AckAsync(Consumer consumer, IReadOnlyList<AckPosition> acks, bool cumulative, CancellationToken cancellationToken)
    {
        var last = Cursor.Ledger.LastConfirmedEntry;
        foreach (var ack in acks)
        {
            if (ack.Position > last || ack.Position.EntryId < 0)
                throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {ack.Position} does not exist in {Topic} (its last is {last}).");
        }
        if (cumulative)
        {
            if (Type is SubscriptionType.Shared or SubscriptionType.KeyShared)
                throw new BrokerException(BrokerErrorCode.BadRequest,
                    $"Cumulative acknowledgement is not allowed on a {(Type == SubscriptionType.Shared ? "Shared" : "Key_Shared")} subscription; acknowledge messages individually.");
            if (acks.Count != 1)
                throw new BrokerException(BrokerErrorCode.BadRequest, "A cumulative acknowledgement names exactly one message.");
        }
        acks = OnlyHeldParts(consumer, acks);
        var checkedAcks = new AckPosition[acks.Count];
        for (var i = 0; i < checkedAcks.Length; i++)
        {
            // A consumer acknowledging messages one by one lists a batch's messages together: its size is looked up once.
            var previous = i > 0 ? checkedAcks[i - 1] : default;
            checkedAcks[i] = i > 0 && acks[i].BatchIndex >= 0 && previous.BatchIndex >= 0 && acks[i].Position == previous.Position
                ? WithBatchSize(acks[i], previous.BatchSize)
                : await WithEntryBatchSizeAsync(consumer, acks[i], cancellationToken).ConfigureAwait(false);
        }
        if (cumulative)
            await Cursor.AckCumulativeAsync(checkedAcks[0], cancellationToken).ConfigureAwait(false);
        else
            await Cursor.AckAsync(checkedAcks, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        Volatile.Write(ref consumer.LastAckedMs, now);
        Volatile.Write(ref LastAckedMs, now);
        lock (_lock)
        {
            if (cumulative)
            {
                foreach (var position in consumer.Pending.Keys.Where(p => p < acks[0].Position || Cursor.IsAcknowledged(p)).ToList())
                    Forget(consumer, position);
                Recount(consumer, checkedAcks[0]);
            }
            else
            {
                foreach (var ack in checkedAcks)
                {
                    if (Cursor.IsAcknowledged(ack.Position))
                        Forget(consumer, ack.Position);
                    else
                        Recount(consumer, ack);
                }
            }
            WakeIfKeysReleased();
        }
    }

    /// <summary>The acknowledgement with the entry's real batch size: a whole entry for a batch of one message.</summary>
    private async ValueTask<AckPosition> WithEntryBatchSizeAsync(Consumer consumer, AckPosition ack, CancellationToken cancellationToken)
    {
        if (ack.BatchIndex < 0)
            return new AckPosition(ack.Position);
        if (Cursor.IsAcknowledged(ack.Position))
            return new AckPosition(ack.Position); // Nothing left to acknowledge in it; the cursor ignores it.
        var size = DeliveredBatchSize(consumer, ack.Position) ?? await StoredBatchSizeAsync(ack.Position, cancellationToken).ConfigureAwait(false);
        return WithBatchSize(ack, size);
    }

    /// <summary>The acknowledgement of one message of an entry of <paramref name="size"/> messages, checked against that size.</summary>
    private static AckPosition WithBatchSize(AckPosition ack, int size)
    {
        if (ack.BatchSize != 0 && ack.BatchSize != size)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Message {ack.Position} is in a batch of {size} message(s), not {ack.BatchSize}: acknowledge with the batch_size of the delivery (or 0).");
        if (ack.BatchIndex >= size)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Message {ack.Position} is in a batch of {size} message(s): batch_index {ack.BatchIndex} does not exist.");
        return size == 1 ? new AckPosition(ack.Position) : new AckPosition(ack.Position, ack.BatchIndex, size);
    }

    /// <summary>The number of messages of an entry delivered to a consumer of this subscription and not acknowledged yet; null when none holds it.</summary>
    private int? DeliveredBatchSize(Consumer consumer, Position position)
    {
        lock (_lock)
        {
            if (consumer.Pending.TryGetValue(position, out var pending))
                return pending.BatchSize;
            foreach (var other in _consumers)
            {
                if (other.Pending.TryGetValue(position, out pending))
                    return pending.BatchSize;
            }
            return null;
        }
    }

    private async ValueTask<int> StoredBatchSizeAsync(Position position, CancellationToken cancellationToken)
    {
        var entries = await Cursor.Ledger.ReadEntriesAsync(position, 1, cancellationToken).ConfigureAwait(false);
        if (entries.Count != 1 || entries[0].Position != position)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {position} does not exist in {Topic}.");
        return BatchHeader.TryRead(entries[0].Data.Span, out var header, out _) ? header.MessageCount : 1;
    }
}
