using System.Globalization;
using Google.Protobuf;
using Tiered.Broker.Entries;
using Tiered.Broker.Naming;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Subscriptions;

/// <summary>A subscription's dead-letter policy (Subscribe.dead_letter_policy), its topics resolved.</summary>
/// <param name="MaxRedeliverCount">An entry about to be delivered with a redelivery count above this goes to <paramref name="DeadLetterTopic"/>; 0: never.</param>
public sealed record DeadLetterSettings(int MaxRedeliverCount, TopicName DeadLetterTopic, TopicName RetryLetterTopic)
{
    /// <summary>Properties the dead-letter and retry topics' messages carry (Pulsar's names).</summary>
    public const string RealTopicProperty = "REAL_TOPIC";
    public const string OriginMessageIdProperty = "ORIGIN_MESSAGE_ID";
    public const string ReconsumeTimesProperty = "RECONSUMETIMES";
    public const string DelayTimeProperty = "DELAY_TIME";

    /// <summary>
    /// The policy's topics, defaults filled in: {topic}-{subscription}-DLQ and {topic}-{subscription}-RETRY, where topic
    /// is the partitioned topic for a partition. For the retry topic itself (consumed with the same subscription) the
    /// defaults are those of the topic it retries for.
    /// </summary>
    public static DeadLetterSettings Of(TopicName topic, string subscription, DeadLetterPolicy policy)
    {
        if (policy.MaxRedeliverCount < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"dead_letter_policy.max_redeliver_count is {policy.MaxRedeliverCount}; give 0 (no dead-letter topic) or more.");
        var retrySuffix = $"-{subscription}-RETRY";
        // A partition's defaults are its partitioned topic's: one dead-letter and one retry topic for all partitions.
        var source = topic.PartitionIndex >= 0 ? topic.PartitionedTopic : topic;
        if (source.LocalName.EndsWith(retrySuffix, StringComparison.Ordinal) && source.LocalName.Length > retrySuffix.Length)
            source = source with { LocalName = source.LocalName[..^retrySuffix.Length] };
        var deadLetter = Named(policy.DeadLetterTopic, "dead_letter_topic") ?? source with { LocalName = $"{source.LocalName}-{subscription}-DLQ" };
        var retry = Named(policy.RetryLetterTopic, "retry_letter_topic") ?? source with { LocalName = $"{source.LocalName}{retrySuffix}" };
        if (deadLetter == topic)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"The dead-letter topic cannot be the topic consumed ({topic}); name another one.");
        return new DeadLetterSettings(policy.MaxRedeliverCount, deadLetter, retry);
    }

    private static TopicName? Named(string name, string field)
    {
        if (name.Length == 0)
            return null;
        if (!TopicName.TryParse(name, out var parsed, out var error))
            throw new BrokerException(BrokerErrorCode.BadName, $"dead_letter_policy.{field} \"{(name.Length > 64 ? name[..64] + "…" : name)}\" is not a topic name: {error}");
        if (parsed.PartitionIndex >= 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"dead_letter_policy.{field} names a partition ({parsed}); name a topic.");
        return parsed;
    }
}

/// <summary>
/// Dead-letter and retry topics (docs/messaging.md). An entry about to be delivered with a redelivery count above the
/// policy's maximum is published to the dead-letter topic, then acknowledged here. "Dead-lettering entry P as
/// sequence S to topic T" is stored with the cursor first: after a crash the broker looks for S in T (after T's last
/// entry at the time) and publishes only if it is not there, then acknowledges — never lost, never in both, never twice.
/// When another broker of the cluster owns T, the batch goes to that owner over gRPC under the same producer name
/// and sequence id (<see cref="RemoteLetterTopic"/>), and after a crash it is sent again: the owner's de-duplication
/// drops it if it was stored.
/// </summary>
public sealed partial class Subscription
{
    private List<ManagedEntry>? _deadLetterDiverted;

    /// <summary>The entry a crash left half moved to the dead-letter topic (from the cursor, at load): finished before anything else is done with it.</summary>
    private Position? _deadLetterToFinish;

    /// <summary>The policy the latest Subscribe gave (null: none).</summary>
    public DeadLetterSettings? DeadLetter { get; set; }

    /// <summary>
    /// Opens (creating if the namespace allows) a dead-letter or retry topic for a producer name (null: not
    /// de-duplicated): on this broker, or on the broker of the cluster that owns it; set by the messaging service.
    /// </summary>
    internal Func<TopicName, string?, CancellationToken, Task<ILetterTopic>>? LetterTopics { get; set; }

    /// <summary>Messages published to the dead-letter topic (and acknowledged here) since the subscription was loaded.</summary>
    public long MessagesDeadLettered;

    /// <summary>The producer name of this subscription's messages in its dead-letter and retry topics (de-duplication key).</summary>
    private string LetterProducerName => $"tiered.dlq.{Topic}.{Name}";

    /// <summary>Under the lock, for each entry about to be delivered: true when it goes to the dead-letter topic instead.</summary>
    private bool DivertToDeadLetter(ManagedEntry entry)
    {
        var max = DeadLetter?.MaxRedeliverCount ?? 0;
        if ((max <= 0 || _redeliveryCounts.Count == 0) && _deadLetterToFinish is null)
            return false;
        var over = max > 0 && _redeliveryCounts.GetValueOrDefault(entry.Position) > max;
        if (!over && _deadLetterToFinish != entry.Position)
            return false;
        // Key_Shared: another consumer still holds part of this (split) entry; moving it now would put that part in
        // both places. It is delivered once more instead, and moved when no consumer holds any of it.
        if (over && _deadLetterToFinish != entry.Position && _consumers.Any(c => c.Pending.ContainsKey(entry.Position)))
            return false;
        (_deadLetterDiverted ??= []).Add(entry);
        return true;
    }

    /// <summary>Publishes the diverted entries to the dead-letter topic and acknowledges them; nothing to do on the normal path.</summary>
    private ValueTask DeadLetterDivertedAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _deadLetterDiverted) is null)
            return ValueTask.CompletedTask;
        return new ValueTask(DeadLetterAllAsync(cancellationToken));
    }

    private async Task DeadLetterAllAsync(CancellationToken cancellationToken)
    {
        List<ManagedEntry>? diverted;
        lock (_lock)
            (diverted, _deadLetterDiverted) = (_deadLetterDiverted, null);
        if (diverted is null)
            return;
        for (var i = 0; i < diverted.Count; i++)
        {
            try
            {
                await DeadLetterAsync(diverted[i], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                NegativeAckLog.DeadLetterFailed(_logger, Topic, Name, diverted[i].Position.ToString(), DeadLetter?.DeadLetterTopic.ToString() ?? "", e);
                // Neither delivered nor acknowledged: they wait here and are tried again shortly, while the
                // subscription's other messages go on being delivered.
                _ = RetryDeadLetterLaterAsync([.. diverted.Skip(i).Select(entry => entry.Position)]);
                return;
            }
        }
    }

    private async Task RetryDeadLetterLaterAsync(List<Position> positions)
    {
        try
        {
            await Task.Delay(RetryAfterStorageError, _time, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Closing: they are still unacknowledged in the cursor, and moved when the topic is loaded again.
            return;
        }
        lock (_lock)
        {
            foreach (var position in positions)
                _redeliver.Add(position);
        }
        Wake();
    }

    private async Task DeadLetterAsync(ManagedEntry entry, CancellationToken cancellationToken)
    {
        var letterTopics = LetterTopics ?? throw new BrokerException(BrokerErrorCode.Unavailable, "No consumer subscribed yet.");
        var inFlight = Cursor.DeadLetterInFlight;
        var recovering = inFlight?.Position == entry.Position;
        if (!recovering && inFlight is not null && !Cursor.IsAcknowledged(inFlight.Position))
        {
            // An earlier move that failed half way (its publish may have been stored): it is finished first, with its
            // own sequence id, so that it is never published twice.
            lock (_lock)
            {
                _deadLetterToFinish = inFlight.Position;
                _redeliver.Add(inFlight.Position);
            }
            throw new BrokerException(BrokerErrorCode.Unavailable, $"The move of entry {inFlight.Position} to {inFlight.Topic} is not finished yet; it is finished first.");
        }
        var target = recovering ? TopicName.Parse(inFlight!.Topic)
            : DeadLetter?.DeadLetterTopic ?? throw new BrokerException(BrokerErrorCode.Unavailable, "The dead-letter policy was removed.");
        var producer = LetterProducerName;
        await using var deadLetter = await letterTopics(target, producer, cancellationToken).ConfigureAwait(false);
        if (!recovering)
        {
            // Above both what this cursor used and what the topic's de-duplication saw (a subscription deleted and made again).
            var sequenceId = Math.Max(Cursor.DeadLetterLastSequenceId, deadLetter.LastSequenceId) + 1;
            inFlight = new DeadLetterInFlight(entry.Position, target.ToString(), sequenceId, deadLetter.After);
            await Cursor.BeginDeadLetterAsync(inFlight, cancellationToken).ConfigureAwait(false);
        }
        var batch = LetterBatch(entry, inFlight!.SequenceId, out var messages);
        var lastSequenceId = inFlight.SequenceId + Math.Max(1, messages) - 1;
        if (messages > 0)
        {
            var stored = recovering && await deadLetter.ContainsAsync(inFlight, cancellationToken).ConfigureAwait(false);
            if (recovering)
                NegativeAckLog.DeadLetterResumed(_logger, Topic, Name, entry.Position.ToString(), target.ToString(), stored);
            if (!stored)
                await deadLetter.PublishAsync(batch, messages, inFlight.SequenceId, lastSequenceId, cancellationToken).ConfigureAwait(false);
        }
        await Cursor.EndDeadLetterAsync(inFlight, lastSequenceId, cancellationToken).ConfigureAwait(false);
        lock (_lock)
        {
            _redeliveryCounts.Remove(entry.Position);
            if (_deadLetterToFinish == entry.Position)
                _deadLetterToFinish = null;
        }
        Interlocked.Add(ref MessagesDeadLettered, messages);
        NegativeAckLog.DeadLettered(_logger, Topic, Name, entry.Position.ToString(), messages, target.ToString());
    }

    /// <summary>The entry's messages not acknowledged, as a batch for the dead-letter topic (origin properties added).</summary>
    private MessageBatch LetterBatch(ManagedEntry entry, long sequenceId, out int messages)
    {
        var original = MessageBatch.Parser.ParseFrom(entry.Data.Span);
        var acked = original.Messages.Count > 1 ? Cursor.AckedBatchIndexes(entry.Position) : [];
        var batch = NewLetterBatch(sequenceId);
        batch.SchemaVersion = original.SchemaVersion;
        for (var i = 0; i < original.Messages.Count; i++)
        {
            if (acked.Contains(i))
                continue;
            var message = original.Messages[i].Clone();
            message.DeliverAtMs = 0;
            message.Properties.TryAdd(DeadLetterSettings.RealTopicProperty, Topic);
            message.Properties.TryAdd(DeadLetterSettings.OriginMessageIdProperty, OriginMessageId(entry.Position, i));
            batch.Messages.Add(message);
        }
        messages = batch.Messages.Count;
        return batch;
    }

    private MessageBatch NewLetterBatch(long sequenceId) => new()
    {
        FormatVersion = BatchHeader.CurrentFormatVersion,
        ProducerName = LetterProducerName,
        SequenceId = (ulong)sequenceId,
        PublishTimeMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
    };

    private string OriginMessageId(Position position, int batchIndex)
        => string.Create(CultureInfo.InvariantCulture, $"{position.LedgerId}:{position.EntryId}:{Partition}:{batchIndex}");

    /// <summary>
    /// Pulsar's reconsumeLater: publishes the message to the retry topic, due after <paramref name="delayMs"/>, with
    /// RECONSUMETIMES counting the retries (to the dead-letter topic instead once that would exceed the policy's
    /// maximum), then acknowledges it here. At least once: a crash between the two leaves it in both.
    /// </summary>
    public async Task ReconsumeLaterAsync(Consumer consumer, Position position, int batchIndex, long delayMs, IReadOnlyDictionary<string, string> properties, CancellationToken cancellationToken)
    {
        if (delayMs < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"ReconsumeLater.delay_ms is {delayMs}; give 0 or more.");
        var settings = DeadLetter ?? throw new BrokerException(BrokerErrorCode.BadRequest,
            $"Subscription {Name} of {Topic} has no dead-letter policy: subscribe with dead_letter_policy to use ReconsumeLater.");
        var letterTopics = LetterTopics ?? throw new BrokerException(BrokerErrorCode.Unavailable, "No consumer subscribed yet.");
        var last = Cursor.Ledger.LastConfirmedEntry;
        if (position > last || position.EntryId < 0 || position.LedgerId < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {position} does not exist in {Topic} (its last is {last}).");
        if (Cursor.IsAcknowledged(position) || (batchIndex > 0 && Cursor.AckedBatchIndexes(position).Contains(batchIndex)))
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {position}:{batchIndex} of {Topic} is acknowledged already.");
        var read = await Cursor.Ledger.ReadEntriesAsync(position, 1, cancellationToken).ConfigureAwait(false);
        if (read.Count != 1 || read[0].Position != position)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {position} does not exist in {Topic}.");
        var original = MessageBatch.Parser.ParseFrom(read[0].Data.Span);
        var index = Math.Max(0, batchIndex);
        if (index >= original.Messages.Count)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Message {position} is in a batch of {original.Messages.Count} message(s): batch_index {batchIndex} does not exist.");
        var message = original.Messages[index].Clone();
        var times = (int.TryParse(message.Properties.GetValueOrDefault(DeadLetterSettings.ReconsumeTimesProperty), NumberStyles.None, CultureInfo.InvariantCulture, out var before) ? before : 0) + 1;
        foreach (var (key, value) in properties)
            message.Properties[key] = value;
        message.Properties.TryAdd(DeadLetterSettings.RealTopicProperty, Topic);
        message.Properties.TryAdd(DeadLetterSettings.OriginMessageIdProperty, OriginMessageId(position, index));
        var toDeadLetter = settings.MaxRedeliverCount > 0 && times > settings.MaxRedeliverCount;
        if (toDeadLetter)
        {
            message.DeliverAtMs = 0;
        }
        else
        {
            message.Properties[DeadLetterSettings.ReconsumeTimesProperty] = times.ToString(CultureInfo.InvariantCulture);
            message.Properties[DeadLetterSettings.DelayTimeProperty] = delayMs.ToString(CultureInfo.InvariantCulture);
            message.DeliverAtMs = delayMs == 0 ? 0 : _time.GetUtcNow().ToUnixTimeMilliseconds() + delayMs;
        }
        await using var target = await letterTopics(toDeadLetter ? settings.DeadLetterTopic : settings.RetryLetterTopic, null, cancellationToken).ConfigureAwait(false);
        var batch = new MessageBatch
        {
            FormatVersion = BatchHeader.CurrentFormatVersion,
            ProducerName = LetterProducerName + ".retry",
            PublishTimeMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            SchemaVersion = original.SchemaVersion,
        };
        batch.Messages.Add(message);
        // Not de-duplicated (no producer key): retries of many consumers are not one sequence.
        await target.PublishAsync(batch, 1, 0, 0, cancellationToken).ConfigureAwait(false);
        if (toDeadLetter)
            Interlocked.Increment(ref MessagesDeadLettered);
        var size = original.Messages.Count;
        await AckAsync(consumer, [size == 1 ? new AckPosition(position) : new AckPosition(position, index, size)], cumulative: false, cancellationToken).ConfigureAwait(false);
    }
}
