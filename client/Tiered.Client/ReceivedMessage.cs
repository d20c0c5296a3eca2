namespace Tiered.Client;

/// <summary>
/// One message as a consumer or reader receives it. <see cref="Payload"/> points into the buffer the delivery
/// was parsed from (no copy); it stays valid as long as the message is referenced.
/// </summary>
public sealed class ReceivedMessage
{
    internal ReceivedMessage(
        string topic,
        MessageId id,
        int batchSize,
        ReadOnlyMemory<byte> payload,
        string? key,
        IReadOnlyDictionary<string, string> properties,
        long publishTimeMs,
        long eventTimeMs,
        string producerName,
        ulong sequenceId,
        int redeliveryCount)
    {
        Topic = topic;
        Id = id;
        BatchSize = batchSize;
        Payload = payload;
        Key = key;
        Properties = properties;
        PublishTimeMs = publishTimeMs;
        EventTimeMs = eventTimeMs;
        ProducerName = producerName;
        SequenceId = sequenceId;
        RedeliveryCount = redeliveryCount;
    }

    /// <summary>The topic, or for a partitioned topic the partition (…-partition-N), the message came from.</summary>
    public string Topic { get; }

    public MessageId Id { get; }

    /// <summary>How many messages the entry's batch holds.</summary>
    public int BatchSize { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Null when the message has no key.</summary>
    public string? Key { get; }

    public IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>When the producer sent the message's batch, milliseconds since the Unix epoch.</summary>
    public long PublishTimeMs { get; }

    public DateTimeOffset PublishTime => DateTimeOffset.FromUnixTimeMilliseconds(PublishTimeMs);

    /// <summary>The application's event time, milliseconds since the Unix epoch; 0 when not set.</summary>
    public long EventTimeMs { get; }

    public DateTimeOffset? EventTime => EventTimeMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(EventTimeMs);

    public string ProducerName { get; }

    public ulong SequenceId { get; }

    /// <summary>How many times the message's entry was delivered to this subscription before.</summary>
    public int RedeliveryCount { get; }

    public override string ToString() => $"{Id} ({Payload.Length} bytes)";
}
