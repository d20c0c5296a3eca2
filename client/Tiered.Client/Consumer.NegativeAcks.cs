using Tiered.Client.Consumers;
using Tiered.V1;

namespace Tiered.Client;

/// <summary>Negative acks and ReconsumeLater (docs/messaging.md): done by the broker, so every gRPC client has them.</summary>
public sealed partial class Consumer
{
    private PartitionConsumer[] _retryPartitions = [];

    /// <summary>The retry topic's consumers (<see cref="ConsumerOptions.RetryEnable"/>), feeding the same receive queue.</summary>
    internal void AttachRetry(PartitionConsumer[] partitions) => _retryPartitions = partitions;

    /// <summary>
    /// The message is delivered again after the consumer's <see cref="ConsumerOptions.NegativeAckDelay"/> (to any
    /// consumer of the subscription), with its redelivery count one higher; past the dead-letter policy's
    /// MaxRedeliverCount it goes to the dead-letter topic instead. For a message of a batch, the batch's messages
    /// not acknowledged come back with it.
    /// </summary>
    public Task NegativeAcknowledgeAsync(ReceivedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var nack = new NegativeAck { MessageIds = { message.Id.ToProto(message.BatchSize) } };
        (RetryPartitionOf(message) ?? PartitionOf(message.Id)).NegativeAcknowledge(nack);
        return Task.CompletedTask;
    }

    /// <summary>Negatively acknowledges a message of the topic by its id (see <see cref="NegativeAcknowledgeAsync(ReceivedMessage)"/>).</summary>
    public Task NegativeAcknowledgeAsync(MessageId messageId)
    {
        PartitionOf(messageId).NegativeAcknowledge(new NegativeAck { MessageIds = { messageId.ToProto(0) } });
        return Task.CompletedTask;
    }

    /// <summary>
    /// Pulsar's reconsumeLater: the broker publishes the message to the retry topic, due after <paramref name="delay"/>,
    /// with the property RECONSUMETIMES counting its retries (and <paramref name="properties"/> added), then acknowledges
    /// it here; past the dead-letter policy's MaxRedeliverCount it goes to the dead-letter topic instead. Completes when
    /// the broker did both. Needs a <see cref="ConsumerOptions.DeadLetterPolicy"/>; with
    /// <see cref="ConsumerOptions.RetryEnable"/> the message comes back through this consumer.
    /// </summary>
    public Task ReconsumeLaterAsync(ReceivedMessage message, TimeSpan delay, IReadOnlyDictionary<string, string>? properties = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (delay < TimeSpan.Zero)
            throw new ArgumentException($"The delay must not be negative, not {delay}.", nameof(delay));
        if (Volatile.Read(ref _disposed) != 0)
            return Task.FromException(new TieredClientException($"The consumer on {Topic} is closed."));
        var request = new ReconsumeLater { MessageId = message.Id.ToProto(message.BatchSize), DelayMs = (long)delay.TotalMilliseconds };
        if (properties is not null)
        {
            foreach (var (key, value) in properties)
                request.Properties[key] = value;
        }
        return (RetryPartitionOf(message) ?? PartitionOf(message.Id)).ReconsumeLaterAsync(request, cancellationToken);
    }

    /// <summary>The retry topic's consumer the message came from; null for a message of the topic.</summary>
    private PartitionConsumer? RetryPartitionOf(ReceivedMessage message)
    {
        foreach (var partition in _retryPartitions)
        {
            if (string.Equals(partition.Topic, message.Topic, StringComparison.Ordinal))
                return partition;
        }
        return null;
    }

    private Task AcknowledgeRetryAsync(PartitionConsumer retry, ReceivedMessage message, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
            return Task.FromException(new TieredClientException($"The consumer on {Topic} is closed."));
        var ack = new Ack();
        ack.MessageIds.Add(message.Id.ToProto(message.BatchSize));
        return retry.AcknowledgeAsync(ack, cancellationToken);
    }
}
