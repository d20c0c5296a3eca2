using Tiered.Client.Consumers;
using Tiered.V1;

namespace Tiered.Client;

public sealed partial class TieredClient
{
    /// <summary>
    /// Joins a subscription (created at the initial position if missing) and starts receiving: completes once
    /// the broker answered Subscribed on every partition. Throws <see cref="TieredClientException"/> with the
    /// broker's reason when it refuses (an exclusive subscription in use, another subscription type, an unknown topic).
    /// </summary>
    public async Task<Consumer> SubscribeAsync(ConsumerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var lookup = await LookupAsync(options.Topic, cancellationToken).ConfigureAwait(false);
        var subscribe = new Subscribe
        {
            Subscription = options.Subscription,
            Type = options.Type switch
            {
                SubscriptionType.Shared => V1.SubscriptionType.Shared,
                SubscriptionType.Failover => V1.SubscriptionType.Failover,
                SubscriptionType.KeyShared => V1.SubscriptionType.KeyShared,
                _ => V1.SubscriptionType.Exclusive,
            },
            InitialPosition = options.InitialPosition == SubscriptionInitialPosition.Earliest ? InitialPosition.Earliest : InitialPosition.Latest,
            ConsumerName = options.ConsumerName ?? "",
            ReplicateSubscriptionState = options.ReplicateSubscriptionState,
        };
        AddNegativeAckOptions(subscribe, options);
        if (options.KeyHashRanges.Count > 0)
        {
            subscribe.KeyShared = new KeySharedPolicy { Mode = KeySharedPolicy.Types.Mode.Sticky };
            subscribe.KeyShared.Ranges.Add(options.KeyHashRanges.Select(r => new HashRange { Start = r.Start, End = r.End }));
        }
        var consumer = new Consumer(this, lookup.Topic, options.Subscription, lookup.Partitions);
        await StartAsync(consumer, lookup, subscribe, options.ReceiverQueueSize, $"subscribe to {options.Topic} ({options.Subscription})", cancellationToken).ConfigureAwait(false);
        if (options.RetryEnable)
            await StartRetryAsync(consumer, lookup.Topic, subscribe, options, cancellationToken).ConfigureAwait(false);
        return consumer;
    }

    /// <summary>Opens a reader at <see cref="ReaderOptions.StartMessageId"/>. On a partitioned topic only Earliest and Latest are allowed.</summary>
    public async Task<Reader> CreateReaderAsync(ReaderOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var lookup = await LookupAsync(options.Topic, cancellationToken).ConfigureAwait(false);
        var start = options.StartMessageId;
        var subscribe = new Subscribe
        {
            Reader = true,
            Type = V1.SubscriptionType.Exclusive,
            ConsumerName = options.ReaderName ?? "",
            InitialPosition = start == MessageId.Latest ? InitialPosition.Latest : InitialPosition.Earliest,
        };
        if (start != MessageId.Earliest && start != MessageId.Latest)
        {
            if (lookup.Partitions > 0)
                throw new ArgumentException($"{options.Topic} has {lookup.Partitions} partitions: a reader of it starts at Earliest or Latest, or reads one partition (…-partition-N) from a message id.", nameof(options));
            subscribe.StartMessageId = start.ToProto();
            subscribe.StartInclusive = options.StartInclusive;
        }
        var consumer = new Consumer(this, lookup.Topic, "", lookup.Partitions);
        await StartAsync(consumer, lookup, subscribe, options.ReceiverQueueSize, $"open a reader on {options.Topic}", cancellationToken).ConfigureAwait(false);
        return new Reader(this, consumer, options);
    }

    /// <summary>The broker's last message id of one topic or partition, with its batch size; null when it holds no message.</summary>
    internal async Task<V1.MessageId?> GetLastEntryAsync(string topic, CancellationToken cancellationToken)
    {
        var lookup = await LookupAsync(topic, cancellationToken).ConfigureAwait(false);
        try
        {
            var response = await MessagingAt(lookup.BrokerUrl).GetLastMessageIdAsync(
                new GetLastMessageIdRequest { Topic = lookup.Topic },
                deadline: Deadline(),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return response.MessageId is { EntryId: >= 0 } id ? id : null;
        }
        catch (Grpc.Core.RpcException e)
        {
            throw TieredClientException.From(e, $"GetLastMessageId({topic}) failed");
        }
    }

    private async Task StartAsync(Consumer consumer, LookupResponse lookup, Subscribe template, int queueSize, string what, CancellationToken cancellationToken)
    {
        var count = Math.Max(lookup.Partitions, 1);
        var partitions = new PartitionConsumer[count];
        for (var i = 0; i < count; i++)
        {
            var subscribe = template.Clone();
            subscribe.Topic = lookup.Partitions == 0 ? lookup.Topic : PartitionName(lookup.Topic, i);
            partitions[i] = new PartitionConsumer(this, subscribe, lookup.Partitions == 0 ? -1 : i, queueSize, consumer.Queue, consumer.OnPartitionFailed);
        }
        consumer.Attach(partitions);
        Track(consumer);
        var opened = new Task[count];
        for (var i = 0; i < count; i++)
        {
            partitions[i].Start();
            opened[i] = partitions[i].Opened;
        }
        try
        {
            await Task.WhenAll(opened).WaitAsync(Options.OperationTimeout, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await consumer.DisposeAsync().ConfigureAwait(false);
            if (e is TimeoutException)
                throw new TieredClientException($"Could not {what} within {Options.OperationTimeout.TotalSeconds:0.#} s; is a broker reachable at {Options.ServiceUrl}?", e);
            throw;
        }
    }
}
