namespace Tiered.Broker.Admin;

/// <summary>
/// One message read by peek, examine or get-by-id: its payload and what its batch says of it.
/// The admin API answers it as Pulsar does: the payload as the body, the rest in X-Pulsar-* headers.
/// </summary>
public sealed record PeekedMessage
{
    /// <summary>Its id; <see cref="MessageIdData.BatchIndex"/> is -1 when the entry holds this one message only.</summary>
    public required MessageIdData Id { get; init; }

    public ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The routing key; empty when none.</summary>
    public string Key { get; init; } = "";

    public IReadOnlyDictionary<string, string> Properties { get; init; } = new Dictionary<string, string>();

    public string ProducerName { get; init; } = "";

    /// <summary>The batch's first sequence id plus the message's index.</summary>
    public ulong SequenceId { get; init; }

    public long PublishTimeMs { get; init; }

    /// <summary>0 when not set.</summary>
    public long EventTimeMs { get; init; }

    /// <summary>0 when not set.</summary>
    public long DeliverAtMs { get; init; }

    public string ReplicatedFrom { get; init; } = "";

    public ReadOnlyMemory<byte> SchemaVersion { get; init; }

    /// <summary>Messages in the entry (batch) that holds this one.</summary>
    public int BatchMessages { get; init; }

    /// <summary>Bytes of the whole entry (batch) as stored.</summary>
    public int EntryBytes { get; init; }
}
