namespace Tiered.Client;

/// <summary>
/// One message as a consumer or reader receives it. <see cref="Payload"/> is the message's own copy of its bytes,
/// taken once out of the buffer the delivery was read into; it stays valid as long as the message is referenced.
/// </summary>
public sealed class ReceivedMessage
{
    /// <summary>A message as decoded from its delivery; the consumer then gives it its topic and id (<see cref="Bind"/>).</summary>
    internal ReceivedMessage(
        int batchSize,
        ReadOnlyMemory<byte> payload,
        string? key,
        IReadOnlyDictionary<string, string> properties,
        long publishTimeMs,
        long eventTimeMs,
        string producerName,
        ulong sequenceId)
    {
        Topic = "";
        BatchSize = batchSize;
        Payload = payload;
        Key = key;
        Properties = properties;
        PublishTimeMs = publishTimeMs;
        EventTimeMs = eventTimeMs;
        ProducerName = producerName;
        SequenceId = sequenceId;
    }

    /// <summary>The topic, or for a partitioned topic the partition (…-partition-N), the message came from.</summary>
    public string Topic { get; private set; }

    public MessageId Id { get; private set; }

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
    public int RedeliveryCount { get; private set; }

    /// <summary>Where the message came from: set once, by the consumer that takes the delivery, before anyone else sees it.</summary>
    internal void Bind(string topic, MessageId id, int redeliveryCount)
    {
        Topic = topic;
        Id = id;
        RedeliveryCount = redeliveryCount;
    }

    public override string ToString() => $"{Id} ({Payload.Length} bytes)";
}
