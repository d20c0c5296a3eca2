using Tiered.V1;

namespace Tiered.Client.Producers;

/// <summary>
/// Messages that go to the broker as one entry. Open while messages gather, then sealed into the
/// <see cref="Request"/> that is written (and, after a reconnection, written again unchanged) until its receipt arrives.
/// Each message's <c>SendAsync</c> waits on its own pooled <see cref="SendCompletion"/>, completed by <see cref="Complete"/>.
/// </summary>
internal sealed class PendingBatch(ulong sequenceId)
{
    private readonly MessageBatch _batch = new() { FormatVersion = 1, SequenceId = sequenceId };
    private SendCompletion? _first;
    private List<SendCompletion>? _more;
    private TaskCompletionSource? _done;
    private bool _isDone;

    public ulong SequenceId { get; } = sequenceId;

    public int Count => _batch.Messages.Count;

    /// <summary>Encoded size of the messages so far.</summary>
    public int Bytes { get; private set; }

    public ProduceRequest? Request { get; private set; }

    /// <summary>Stopwatch timestamp of sealing, for the batch latency metric.</summary>
    public long SealedAt { get; private set; }

    /// <summary>The deliver_at_ms of the batch's messages: a batch holds only messages due at the same time (0: at once).</summary>
    public long DeliverAtMs { get; private set; }

    /// <summary>Adds a message whose send waits on <paramref name="send"/>; answers its batch index.</summary>
    public int Add(Message message, int encodedSize, SendCompletion send)
    {
        DeliverAtMs = message.DeliverAtMs;
        _batch.Messages.Add(message);
        Bytes += encodedSize;
        var index = _batch.Messages.Count - 1;
        send.BatchIndex = index;
        if (_first is null)
            _first = send;
        else
            (_more ??= []).Add(send);
        return index;
    }

    public void Seal(string producerName, long publishTimeMs)
    {
        _batch.ProducerName = producerName;
        _batch.PublishTimeMs = publishTimeMs;
        Request = new ProduceRequest { Send = new SendBatch { SequenceId = SequenceId, Batch = _batch } };
        SealedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// Under the producer's lock: the batch was answered (or failed), <see cref="Complete"/> follows. Answers the
    /// task of <see cref="WhenDone"/>'s callers to complete, if any asked.
    /// </summary>
    public TaskCompletionSource? MarkDone()
    {
        _isDone = true;
        return _done;
    }

    /// <summary>Under the producer's lock: completes once the batch was answered or failed (for flushes).</summary>
    public Task WhenDone() => _isDone ? Task.CompletedTask : (_done ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Completes every message's send, in order: with the batch's first id, or with <paramref name="error"/>.</summary>
    public void Complete(MessageId first, Exception? error)
    {
        if (_first is { } one)
            Complete(one, first, error);
        if (_more is { } more)
        {
            foreach (var send in more)
                Complete(send, first, error);
        }
    }

    private static void Complete(SendCompletion send, MessageId first, Exception? error)
    {
        if (error is null)
            send.SetResult(first);
        else
            send.SetException(error);
    }
}
