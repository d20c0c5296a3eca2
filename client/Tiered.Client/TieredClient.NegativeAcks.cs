using Tiered.Client.Consumers;
using Tiered.V1;

namespace Tiered.Client;

public sealed partial class TieredClient
{
    /// <summary>The consumer's negative-ack, ack-timeout and dead-letter options, as Subscribe fields.</summary>
    private static void AddNegativeAckOptions(Subscribe subscribe, ConsumerOptions options)
    {
        subscribe.NegativeAckDelayMs = (long)(options.NegativeAckDelay?.TotalMilliseconds ?? 0);
        subscribe.NegativeAckMaxDelayMs = (long)(options.NegativeAckMaxDelay?.TotalMilliseconds ?? 0);
        subscribe.AckTimeoutMs = (long)(options.AckTimeout?.TotalMilliseconds ?? 0);
        if (options.DeadLetterPolicy is { } policy)
        {
            subscribe.DeadLetterPolicy = new V1.DeadLetterPolicy
            {
                MaxRedeliverCount = policy.MaxRedeliverCount,
                DeadLetterTopic = policy.DeadLetterTopic ?? "",
                RetryLetterTopic = policy.RetryLetterTopic ?? "",
            };
        }
    }

    /// <summary>
    /// RetryEnable: the retry topic ({topic}-{subscription}-RETRY unless named; one for all partitions) consumed with
    /// the same subscription and options, into the consumer's receive queue.
    /// </summary>
    private async Task StartRetryAsync(Consumer consumer, string topic, Subscribe template, ConsumerOptions options, CancellationToken cancellationToken)
    {
        var retryTopic = options.DeadLetterPolicy?.RetryLetterTopic ?? $"{BaseTopic(topic)}-{options.Subscription}-RETRY";
        // The retry topic's subscription sends to the same topics as the topic's, whatever the retry topic is named.
        template = template.Clone();
        template.DeadLetterPolicy.RetryLetterTopic = retryTopic;
        if (template.DeadLetterPolicy.DeadLetterTopic.Length == 0)
            template.DeadLetterPolicy.DeadLetterTopic = $"{BaseTopic(topic)}-{options.Subscription}-DLQ";
        try
        {
            var lookup = await LookupAsync(retryTopic, cancellationToken).ConfigureAwait(false);
            var count = Math.Max(lookup.Partitions, 1);
            var partitions = new PartitionConsumer[count];
            for (var i = 0; i < count; i++)
            {
                var subscribe = template.Clone();
                subscribe.Topic = lookup.Partitions == 0 ? lookup.Topic : PartitionName(lookup.Topic, i);
                partitions[i] = new PartitionConsumer(this, subscribe, lookup.Partitions == 0 ? -1 : i, options.ReceiverQueueSize, consumer.Queue, consumer.OnPartitionFailed);
            }
            consumer.AttachRetry(partitions);
            foreach (var partition in partitions)
                partition.Start();
            await Task.WhenAll(partitions.Select(p => p.Opened)).WaitAsync(Options.OperationTimeout, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
            if (e is TimeoutException)
                throw new TieredClientException($"Could not subscribe to the retry topic {retryTopic} within {Options.OperationTimeout.TotalSeconds:0.#} s.", e);
            throw;
        }
    }

    /// <summary>A partition's partitioned topic; the topic itself otherwise.</summary>
    private static string BaseTopic(string topic)
    {
        var at = topic.LastIndexOf("-partition-", StringComparison.Ordinal);
        return at > 0 && int.TryParse(topic.AsSpan(at + "-partition-".Length), out _) ? topic[..at] : topic;
    }
}
