using Google.Protobuf;
using Tiered.Client.Producers;
using Tiered.V1;

namespace Tiered.Client;

/// <summary>
/// Publishes messages to a topic. For a partitioned topic it holds one producer per partition and routes a
/// keyed message by the Murmur3 hash of its key (the partition Pulsar's Java client would choose) and
/// messages without a key round-robin in runs of <see cref="RoundRobinRun"/> messages (one message each without
/// batching), so that a burst spreads over every partition. Thread-safe.
/// </summary>
public sealed class Producer : IAsyncDisposable
{
    /// <summary>
    /// Messages without a key sent in a row to one partition when batching is on. Batching is natural (a partition
    /// gathers a batch while its previous one awaits its receipt), so a run this short still fills batches under
    /// load, while a burst of a few hundred messages lands on every partition rather than on one.
    /// </summary>
    internal const int RoundRobinRun = 16;

    private readonly TieredClient _client;
    private readonly PartitionProducer[] _partitions;
    private readonly uint _run;
    private uint _unkeyed;
    private int _disposed;

    internal Producer(TieredClient client, string topic, int partitions, PartitionProducer[] producers, bool batching)
    {
        _client = client;
        Topic = topic;
        Partitions = partitions;
        _partitions = producers;
        _run = batching ? RoundRobinRun : 1u;
        // A random first partition, so that producers started together do not all begin on partition 0.
        _unkeyed = (uint)Random.Shared.Next(producers.Length) * _run;
    }

    /// <summary>The topic's full name.</summary>
    public string Topic { get; }

    /// <summary>The producer of each partition (one without partitions), for tests.</summary>
    internal IReadOnlyList<PartitionProducer> PartitionProducers => _partitions;

    /// <summary>0 for a topic without partitions.</summary>
    public int Partitions { get; }

    /// <summary>The producer's name (chosen by the broker when the options left it empty).</summary>
    public string ProducerName => _partitions[0].ProducerName;

    /// <summary>Largest batch the broker accepts, in bytes; a message must fit in it with a little room to spare.</summary>
    public int MaxMessageBytes => _partitions[0].MaxMessageBytes;

    /// <summary>
    /// Publishes one message and completes with its id once the broker stored it durably. Survives broker
    /// restarts (the message is sent again on the new stream); fails only for a message the broker refuses,
    /// a producer refused for good, or a closed producer.
    /// </summary>
    /// <param name="payload">
    /// Not copied: the producer keeps a reference until the returned task completes (it may have to send it
    /// again after a reconnection), so the caller must not modify or reuse that memory before then.
    /// </param>
    /// <param name="cancellationToken">Stops only the wait for room when MaxPendingMessages are pending; a queued message is sent.</param>
    public ValueTask<MessageId> SendAsync(
        ReadOnlyMemory<byte> payload,
        string? key = null,
        IReadOnlyDictionary<string, string>? properties = null,
        DateTimeOffset? eventTime = null,
        CancellationToken cancellationToken = default)
        => Send(payload, key, properties, eventTime, deliverAtMs: 0, cancellationToken);

    // Delayed delivery ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Publishes a message that Shared and Key_Shared subscriptions deliver no earlier than <paramref name="deliverAt"/>
    /// (Exclusive and Failover subscriptions deliver it at once, as Pulsar). The broker holds a batch until its
    /// latest deliver time, so this producer batches a delayed message only with messages due at the same
    /// millisecond. A time already past is delivered at once.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A time before the Unix epoch.</exception>
    public ValueTask<MessageId> SendDelayedAsync(
        ReadOnlyMemory<byte> payload,
        DateTimeOffset deliverAt,
        string? key = null,
        IReadOnlyDictionary<string, string>? properties = null,
        DateTimeOffset? eventTime = null,
        CancellationToken cancellationToken = default)
    {
        var at = deliverAt.ToUnixTimeMilliseconds();
        if (at < 0)
            throw new ArgumentOutOfRangeException(nameof(deliverAt), deliverAt, "A deliver time must be after the Unix epoch (1970-01-01).");
        return Send(payload, key, properties, eventTime, at, cancellationToken);
    }

    /// <summary>
    /// Publishes a message that Shared and Key_Shared subscriptions deliver no earlier than <paramref name="deliverAfter"/>
    /// from now (this machine's clock; see <see cref="SendDelayedAsync(ReadOnlyMemory{byte}, DateTimeOffset, string?, IReadOnlyDictionary{string, string}?, DateTimeOffset?, CancellationToken)"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative delay.</exception>
    public ValueTask<MessageId> SendDelayedAsync(
        ReadOnlyMemory<byte> payload,
        TimeSpan deliverAfter,
        string? key = null,
        IReadOnlyDictionary<string, string>? properties = null,
        DateTimeOffset? eventTime = null,
        CancellationToken cancellationToken = default)
    {
        if (deliverAfter < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(deliverAfter), deliverAfter, "A delay cannot be negative; use TimeSpan.Zero (or SendAsync) to deliver at once.");
        var at = deliverAfter == TimeSpan.Zero ? 0 : (_client.Options.TimeProvider.GetUtcNow() + deliverAfter).ToUnixTimeMilliseconds();
        return Send(payload, key, properties, eventTime, at, cancellationToken);
    }

    // ---------------------------------------------------------------------------------------------------------------

    private ValueTask<MessageId> Send(ReadOnlyMemory<byte> payload, string? key, IReadOnlyDictionary<string, string>? properties, DateTimeOffset? eventTime,
        long deliverAtMs, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
            return ValueTask.FromException<MessageId>(new ObjectDisposedException(nameof(Producer), $"The producer on {Topic} is closed."));
        var message = new Message { Payload = UnsafeByteOperations.UnsafeWrap(payload) };
        if (deliverAtMs != 0)
            message.DeliverAtMs = deliverAtMs;
        if (key is not null)
            message.Key = key;
        if (properties is not null)
        {
            foreach (var (name, value) in properties)
                message.Properties[name] = value;
        }
        if (eventTime is { } time)
            message.EventTimeMs = time.ToUnixTimeMilliseconds();
        return Route(key).SendAsync(message, cancellationToken);
    }

    /// <summary>Sends what is batched and waits until every message sent before the call was acknowledged (or failed).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_partitions.Length == 1)
        {
            await _partitions[0].FlushAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        var flushes = new Task[_partitions.Length];
        for (var i = 0; i < flushes.Length; i++)
            flushes[i] = _partitions[i].FlushAsync(cancellationToken);
        await Task.WhenAll(flushes).ConfigureAwait(false);
    }

    /// <summary>Flushes (waiting at most the client's operation timeout), then closes; sends still pending fail.</summary>
    public ValueTask DisposeAsync() => CloseAsync(flush: true);

    internal async ValueTask CloseAsync(bool flush)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _client.Untrack(this);
        var closes = new Task[_partitions.Length];
        for (var i = 0; i < closes.Length; i++)
            closes[i] = _partitions[i].CloseAsync(flush).AsTask();
        await Task.WhenAll(closes).ConfigureAwait(false);
    }

    internal PartitionProducer Route(string? key)
    {
        var partitions = _partitions;
        if (partitions.Length == 1)
            return partitions[0];
        if (!string.IsNullOrEmpty(key))
            return partitions[Murmur3.Partition(key, partitions.Length)];
        var n = Interlocked.Increment(ref _unkeyed) - 1;
        return partitions[(int)(n / _run % (uint)partitions.Length)];
    }
}
