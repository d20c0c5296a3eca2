using Tiered.Broker.Entries;
using Tiered.Broker.Naming;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Admin;

/// <summary>
/// Reading single messages for operators: peek (the nth message a subscription has not
/// acknowledged), examine (the nth message from the first or the last), get by id, and the
/// last message id. Positions count messages, not entries: a batch of k messages is k positions.
/// </summary>
public sealed partial class TopicAdmin
{
    private const int EntriesPerRead = 64;

    public async Task<PeekedMessage> PeekMessageAsync(TopicName topic, string subscription, long position, CancellationToken cancellationToken)
    {
        RequirePosition(position);
        var loaded = await RequireSinglePartitionAsync(topic, "peek", cancellationToken).ConfigureAwait(false);
        var cursor = RequireSubscription(loaded, subscription).Cursor;
        var start = loaded.Ledger.GetNextPosition(cursor.MarkDeletePosition);
        return await ForwardAsync(loaded, start, position, cursor, cancellationToken).ConfigureAwait(false)
            ?? throw new BrokerException(BrokerErrorCode.MessageNotFound,
                $"Subscription {subscription} of {topic} has fewer than {position} unacknowledged message(s); peek a smaller position.");
    }

    public async Task<PeekedMessage> ExamineMessageAsync(TopicName topic, bool fromLatest, long position, CancellationToken cancellationToken)
    {
        RequirePosition(position);
        var loaded = await RequireSinglePartitionAsync(topic, "examine", cancellationToken).ConfigureAwait(false);
        var found = fromLatest
            ? await BackwardAsync(loaded, position, cancellationToken).ConfigureAwait(false)
            : await ForwardAsync(loaded, loaded.Ledger.FirstPosition, position, cursor: null, cancellationToken).ConfigureAwait(false);
        return found ?? throw new BrokerException(BrokerErrorCode.MessageNotFound,
            $"Topic {topic} holds fewer than {position} message(s); examine a smaller position.");
    }

    public async Task<PeekedMessage> GetMessageByIdAsync(TopicName topic, long ledgerId, long entryId, int batchIndex, CancellationToken cancellationToken)
    {
        if (ledgerId < 0 || entryId < 0 || batchIndex < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid message id {ledgerId}:{entryId} (batch index {batchIndex}): ledger, entry and batch index are numbers >= 0.");
        var loaded = await RequireSinglePartitionAsync(topic, "read messages by id from", cancellationToken).ConfigureAwait(false);
        var position = new Position(ledgerId, entryId);
        var entry = await ReadEntryAsync(loaded, position, cancellationToken).ConfigureAwait(false)
            ?? throw new BrokerException(BrokerErrorCode.MessageNotFound, $"Topic {topic} has no entry {ledgerId}:{entryId} (never written, or trimmed).");
        var messages = MessagesIn(entry);
        if (batchIndex >= messages)
            throw new BrokerException(BrokerErrorCode.MessageNotFound, $"Entry {ledgerId}:{entryId} of {topic} holds {messages} message(s); batch index {batchIndex} does not exist.");
        return Decode(loaded, entry, batchIndex);
    }

    public async Task<MessageIdData> GetLastMessageIdAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var loaded = await RequireSinglePartitionAsync(topic, "ask the last message id of", cancellationToken).ConfigureAwait(false);
        var last = loaded.Ledger.LastConfirmedEntry;
        if (last.EntryId < 0)
            return new MessageIdData(last.LedgerId, -1, topic.PartitionIndex);
        var entry = await ReadEntryAsync(loaded, last, cancellationToken).ConfigureAwait(false);
        var messages = entry is { } read ? MessagesIn(read) : 1;
        return new MessageIdData(last.LedgerId, last.EntryId, topic.PartitionIndex, messages > 1 ? messages - 1 : -1);
    }

    private static void RequirePosition(long position)
    {
        if (position < 1)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid message position {position}: positions start at 1 (the first message).");
    }

    /// <summary>The loaded topic; BadRequest for a partitioned topic (each partition is its own log).</summary>
    private async Task<Topic> RequireSinglePartitionAsync(TopicName topic, string what, CancellationToken cancellationToken)
    {
        var partitions = await Policies.GetPartitionsAsync(topic, cancellationToken).ConfigureAwait(false);
        if (partitions > 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"{topic} is a partitioned topic: {what} one of its partitions ({topic}{TopicName.PartitionSuffix}0 … {partitions - 1}).");
        return await RequireAsync(topic, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The <paramref name="n"/>th message from <paramref name="start"/> on, skipping what <paramref name="cursor"/> acknowledged; null past the end.</summary>
    private static async Task<PeekedMessage?> ForwardAsync(Topic topic, Position start, long n, ManagedCursor? cursor, CancellationToken cancellationToken)
    {
        var position = start;
        long seen = 0;
        while (true)
        {
            var entries = await topic.Ledger.ReadEntriesAsync(position, EntriesPerRead, cancellationToken).ConfigureAwait(false);
            if (entries.Count == 0)
                return null;
            foreach (var entry in entries)
            {
                if (cursor is not null && cursor.IsAcknowledged(entry.Position))
                    continue;
                var messages = MessagesIn(entry);
                IReadOnlyList<int> acked = cursor is not null && messages > 1 ? cursor.AckedBatchIndexes(entry.Position) : [];
                if (seen + messages - acked.Count < n)
                {
                    seen += messages - acked.Count;
                    continue;
                }
                for (var index = 0; index < messages; index++)
                {
                    if (!acked.Contains(index) && ++seen == n)
                        return Decode(topic, entry, index);
                }
            }
            position = topic.Ledger.GetNextPosition(entries[^1].Position);
        }
    }

    /// <summary>The <paramref name="n"/>th message counting back from the last one (1: the last); null before the first.</summary>
    private static async Task<PeekedMessage?> BackwardAsync(Topic topic, long n, CancellationToken cancellationToken)
    {
        var last = topic.Ledger.LastConfirmedEntry;
        long seen = 0;
        foreach (var ledger in topic.Ledger.Ledgers.Reverse())
        {
            if (ledger.LedgerId > last.LedgerId)
                continue;
            var end = ledger.LedgerId == last.LedgerId ? Math.Min(last.EntryId, ledger.Entries - 1) : ledger.Entries - 1;
            while (end >= 0)
            {
                var first = Math.Max(0, end - EntriesPerRead + 1);
                var entries = await topic.Ledger.ReadEntriesAsync(new Position(ledger.LedgerId, first), (int)(end - first + 1), cancellationToken).ConfigureAwait(false);
                for (var i = entries.Count - 1; i >= 0; i--)
                {
                    if (entries[i].Position.LedgerId != ledger.LedgerId)
                        continue;
                    var messages = MessagesIn(entries[i]);
                    if (seen + messages >= n)
                        return Decode(topic, entries[i], (int)(messages - (n - seen)));
                    seen += messages;
                }
                end = first - 1;
            }
        }
        return null;
    }

    /// <summary>The entry at exactly <paramref name="position"/>, or null when the topic has none there.</summary>
    private static async Task<ManagedEntry?> ReadEntryAsync(Topic topic, Position position, CancellationToken cancellationToken)
    {
        var ledgers = topic.Ledger.Ledgers;
        if (!ledgers.Any(l => l.LedgerId == position.LedgerId && position.EntryId < l.Entries) || position > topic.Ledger.LastConfirmedEntry)
            return null;
        var read = await topic.Ledger.ReadEntriesAsync(position, 1, cancellationToken).ConfigureAwait(false);
        return read.Count == 1 && read[0].Position == position ? read[0] : null;
    }

    private static int MessagesIn(ManagedEntry entry)
        => BatchHeader.TryRead(entry.Data.Span, out var header, out _) ? header.MessageCount : 1;

    private static PeekedMessage Decode(Topic topic, ManagedEntry entry, int index)
    {
        MessageBatch batch;
        try
        {
            batch = MessageBatch.Parser.ParseFrom(entry.Data.Span);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"Entry {entry.Position} of {topic.Name} is not a message batch this broker can read: {e.Message}", e);
        }
        var message = batch.Messages[index];
        var single = batch.Messages.Count == 1;
        return new PeekedMessage
        {
            Id = new MessageIdData(entry.Position.LedgerId, entry.Position.EntryId, topic.Name.PartitionIndex, single ? -1 : index),
            Payload = message.Payload.Memory,
            Key = message.Key,
            Properties = new Dictionary<string, string>(message.Properties, StringComparer.Ordinal),
            ProducerName = batch.ProducerName,
            SequenceId = batch.SequenceId + (ulong)index,
            PublishTimeMs = batch.PublishTimeMs,
            EventTimeMs = message.EventTimeMs,
            DeliverAtMs = message.DeliverAtMs,
            ReplicatedFrom = batch.ReplicatedFrom,
            SchemaVersion = batch.SchemaVersion.Memory,
            BatchMessages = batch.Messages.Count,
            EntryBytes = entry.Data.Length,
        };
    }
}
