using Tiered.V1;

namespace Tiered.Client.Producers;

/// <summary>
/// Messages that go to the broker as one entry. Open while messages gather, then sealed into the
/// <see cref="Request"/> that is written (and, after a reconnection, written again unchanged) until its receipt arrives.
/// </summary>
internal sealed class PendingBatch(ulong sequenceId)
{
    private readonly MessageBatch _batch = new() { FormatVersion = 1, SequenceId = sequenceId };

    public ulong SequenceId { get; } = sequenceId;

    public int Count => _batch.Messages.Count;

    /// <summary>Encoded size of the messages so far.</summary>
    public int Bytes { get; private set; }

    /// <summary>Resolves to the id of the batch's first message when the receipt arrives.</summary>
    public TaskCompletionSource<MessageId> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ProduceRequest? Request { get; private set; }

    /// <summary>Stopwatch timestamp of sealing, for the batch latency metric.</summary>
    public long SealedAt { get; private set; }

    /// <summary>The deliver_at_ms of the batch's messages: a batch holds only messages due at the same time (0: at once).</summary>
    public long DeliverAtMs { get; private set; }

    /// <returns>The message's batch index.</returns>
    public int Add(Message message, int encodedSize)
    {
        DeliverAtMs = message.DeliverAtMs;
        _batch.Messages.Add(message);
        Bytes += encodedSize;
        return _batch.Messages.Count - 1;
    }

    public void Seal(string producerName, long publishTimeMs)
    {
        _batch.ProducerName = producerName;
        _batch.PublishTimeMs = publishTimeMs;
        Request = new ProduceRequest { Send = new SendBatch { SequenceId = SequenceId, Batch = _batch } };
        SealedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    }
}
