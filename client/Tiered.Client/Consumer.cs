using System.Threading.Channels;
using Tiered.Client.Consumers;
using Tiered.V1;

namespace Tiered.Client;

/// <summary>
/// Receives the messages of a subscription. For a partitioned topic it holds one consumer per partition,
/// merged into one receive queue. After a broker restart it subscribes again; messages it had queued and not
/// handed out are dropped, since the broker delivers them again, so the application sees each redelivery once.
/// Thread-safe.
/// </summary>
public sealed partial class Consumer : IAsyncDisposable
{
    private readonly TieredClient _client;
    private readonly ReceiveQueue _queue = new();
    private PartitionConsumer[] _partitions = [];
    private int _disposed;

    internal Consumer(TieredClient client, string topic, string subscription, int partitions)
    {
        _client = client;
        Topic = topic;
        Subscription = subscription;
        Partitions = partitions;
    }

    public string Topic { get; }

    public string Subscription { get; }

    /// <summary>0 for a topic without partitions.</summary>
    public int Partitions { get; }

    public string ConsumerName => _partitions[0].ConsumerName;

    /// <summary>
    /// Whether the broker sends this consumer messages: always true but for a Failover subscription, where it says
    /// whether this consumer is the active one (of at least one partition).
    /// </summary>
    public bool IsActive
    {
        get
        {
            foreach (var partition in _partitions)
            {
                if (partition.IsActive)
                    return true;
            }
            return false;
        }
    }

    internal PartitionConsumer[] PartitionConsumers => _partitions;

    internal ReceiveQueue Queue => _queue;

    /// <summary>Waits for the next message. Throws <see cref="TieredClientException"/> once the consumer failed for good or was closed.</summary>
    public async ValueTask<ReceivedMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_queue.TryTake(out var message))
                return message;
            foreach (var partition in _partitions)
                partition.GrantTakenPermits();
            foreach (var partition in _retryPartitions)
                partition.GrantTakenPermits();
            try
            {
                if (!await _queue.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    throw new TieredClientException($"The consumer on {Topic} is closed.");
            }
            catch (ChannelClosedException e)
            {
                throw e.InnerException as TieredClientException ?? new TieredClientException($"The consumer on {Topic} is closed.", e);
            }
            catch (TieredClientException e)
            {
                // WaitToReadAsync rethrows the exception the queue was completed with.
                throw new TieredClientException(e.Message, e.StatusCode, e);
            }
        }
    }

    /// <summary>Messages in the receive queue, stale ones included (for tests that must know what has arrived).</summary>
    internal int QueuedCount => _queue.Count;

    /// <summary>True when a message waits in the receive queue (one that ReceiveAsync would return without waiting).</summary>
    internal bool HasQueuedMessage() => _queue.HasCurrent();

    /// <summary>Acknowledges one message; completes when the broker stored the acknowledgement.</summary>
    public Task AcknowledgeAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (RetryPartitionOf(message) is { } retry)
            return AcknowledgeRetryAsync(retry, message, cancellationToken);
        return AcknowledgeOneAsync(message.Id, message.BatchSize, cumulative: false, cancellationToken);
    }

    public Task AcknowledgeAsync(MessageId messageId, CancellationToken cancellationToken = default) =>
        AcknowledgeOneAsync(messageId, 0, cumulative: false, cancellationToken);

    /// <summary>Acknowledges several messages, in one request per partition.</summary>
    public Task AcknowledgeAsync(IEnumerable<ReceivedMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var acks = new Ack?[_partitions.Length];
        // The list's size, when known, sizes the request's list of ids (a topic without partitions: all of them).
        var expected = messages.TryGetNonEnumeratedCount(out var count) ? count : 0;
        List<Task>? retries = null;
        foreach (var message in messages)
        {
            if (RetryPartitionOf(message) is { } retry)
                (retries ??= []).Add(AcknowledgeRetryAsync(retry, message, cancellationToken));
            else
                AddTo(acks, message.Id, message.BatchSize, expected);
        }
        return retries is null ? SendAcksAsync(acks, cancellationToken) : Task.WhenAll([SendAcksAsync(acks, cancellationToken), .. retries]);
    }

    public Task AcknowledgeAsync(IEnumerable<MessageId> messageIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageIds);
        var acks = new Ack?[_partitions.Length];
        var expected = messageIds.TryGetNonEnumeratedCount(out var count) ? count : 0;
        foreach (var id in messageIds)
            AddTo(acks, id, 0, expected);
        return SendAcksAsync(acks, cancellationToken);
    }

    /// <summary>Acknowledges every message of the id's partition up to and including it. Not allowed on Shared and KeyShared subscriptions.</summary>
    public Task AcknowledgeCumulativeAsync(MessageId messageId, CancellationToken cancellationToken = default) =>
        AcknowledgeOneAsync(messageId, 0, cumulative: true, cancellationToken);

    public Task AcknowledgeCumulativeAsync(ReceivedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return AcknowledgeOneAsync(message.Id, message.BatchSize, cumulative: true, cancellationToken);
    }

    /// <summary>Asks the broker to deliver every unacknowledged message of this consumer again; the local queue is emptied.</summary>
    public Task RedeliverUnacknowledgedAsync()
    {
        foreach (var partition in _partitions)
            partition.RedeliverUnacknowledged();
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _client.Untrack(this);
        var closes = new Task[_partitions.Length + _retryPartitions.Length];
        for (var i = 0; i < _partitions.Length; i++)
            closes[i] = _partitions[i].CloseAsync().AsTask();
        for (var i = 0; i < _retryPartitions.Length; i++)
            closes[_partitions.Length + i] = _retryPartitions[i].CloseAsync().AsTask();
        await Task.WhenAll(closes).ConfigureAwait(false);
        _queue.Complete(new TieredClientException($"The consumer on {Topic} is closed."));
    }

    internal void Attach(PartitionConsumer[] partitions) => _partitions = partitions;

    /// <summary>A partition consumer failed for good: the consumer fails (ReceiveAsync throws its error).</summary>
    internal void OnPartitionFailed(Exception error) => _queue.Complete(error);

    private Task AcknowledgeOneAsync(MessageId id, int batchSize, bool cumulative, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
            return Task.FromException(new TieredClientException($"The consumer on {Topic} is closed."));
        var ack = new Ack { Cumulative = cumulative };
        ack.MessageIds.Add(id.ToProto(batchSize));
        return PartitionOf(id).AcknowledgeAsync(ack, cancellationToken);
    }

    private void AddTo(Ack?[] acks, MessageId id, int batchSize, int expected)
    {
        var index = IndexOf(id);
        if (acks[index] is not { } ack)
        {
            ack = acks[index] = new Ack();
            if (acks.Length == 1)
                ack.MessageIds.Capacity = expected;
        }
        ack.MessageIds.Add(id.ToProto(batchSize));
    }

    private Task SendAcksAsync(Ack?[] acks, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
            return Task.FromException(new TieredClientException($"The consumer on {Topic} is closed."));
        var sends = new List<Task>(acks.Length);
        for (var i = 0; i < acks.Length; i++)
        {
            if (acks[i] is { } ack)
                sends.Add(_partitions[i].AcknowledgeAsync(ack, cancellationToken));
        }
        return sends.Count == 1 ? sends[0] : Task.WhenAll(sends);
    }

    private PartitionConsumer PartitionOf(MessageId id) => _partitions[IndexOf(id)];

    private int IndexOf(MessageId id)
    {
        if (Partitions == 0)
            return 0;
        if (id.Partition < 0 || id.Partition >= Partitions)
            throw new ArgumentException($"Message id {id} names no partition of {Topic} ({Partitions} partitions).", nameof(id));
        return id.Partition;
    }
}
