using Grpc.Core;
using Tiered.Broker.Naming;
using Tiered.Broker.Subscriptions;
using Tiered.Broker.Subscriptions.KeyShared;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.Proto.Streams;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

public sealed partial class MessagingService
{
    private static long _consumerNames;

    public override async Task Consume(IAsyncStreamReader<ConsumeRequest> requests, IServerStreamWriter<Wire.ConsumeResponse> responses, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requests.MoveNext(ct).ConfigureAwait(false))
            return;
        if (requests.Current.RequestCase != ConsumeRequest.RequestOneofCase.Subscribe)
            throw new BrokerException(BrokerErrorCode.BadRequest, "The first message of a Consume stream must be Subscribe.");
        var request = requests.Current.Subscribe;
        // Everything the request says is checked before anything is created: a refused subscribe leaves no topic or subscription behind.
        var topicName = TopicName.Parse(request.Topic);
        var type = request.Reader ? SubscriptionType.Exclusive : CheckType(request.Type);
        var keyShared = type == SubscriptionType.KeyShared ? KeySharedOf(request.KeyShared) : default;
        var chosen = Names.ClientChosen(request.ConsumerName, "consumer");
        if (!request.Reader)
            Names.Subscription(request.Subscription);
        var nacks = NegativeAckSettingsOf(request);
        await access.CheckConsumeAsync(context.GetHttpContext(), topicName, request.Reader ? null : request.Subscription, ct).ConfigureAwait(false);
        var deadLetter = await DeadLetterSettingsOfAsync(request, topicName, context, ct).ConfigureAwait(false);
        var topic = await topics.GetTopicAsync(topicName, create: true, ct).ConfigureAwait(false);
        var subscription = await SubscriptionForAsync(topic, request, ct).ConfigureAwait(false);
        ApplyDeadLetter(subscription, deadLetter);
        var consumer = new Consumer(chosen.Length == 0 ? $"consumer-{Interlocked.Increment(ref _consumerNames)}" : chosen, type, context.Peer, topic.Time)
        {
            NegativeAckDelayMs = nacks.NackDelayMs, NegativeAckMaxDelayMs = nacks.NackMaxDelayMs, AckTimeoutMs = nacks.AckTimeoutMs,
            KeySharedMode = keyShared.Mode,
            StickyRanges = keyShared.Ranges,
        };
        consumer.Outbox.Writer.TryWrite(new Wire.ConsumeResponse
        {
            Subscribed = new Subscribed { Topic = topic.Name.ToString(), Subscription = subscription.Name, ConsumerName = consumer.Name },
        });
        try
        {
            subscription.AddConsumer(consumer);
            subscription.WatchAckTimeout(consumer);
        }
        catch
        {
            await topic.RemoveReaderAsync(subscription).ConfigureAwait(false);
            throw;
        }
        BrokerLog.ConsumerSubscribed(logger, consumer.Name, topic.Name.ToString(), subscription.Name, consumer.Type.ToString());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, consumer.Closed.Token);
        var writing = WriteOutboxAsync(consumer, responses, stop.Token);
        try
        {
            while (await requests.MoveNext(stop.Token).ConfigureAwait(false))
            {
                var next = requests.Current;
                switch (next.RequestCase)
                {
                    case ConsumeRequest.RequestOneofCase.Flow:
                        subscription.AddPermits(consumer, next.Flow.Permits);
                        break;
                    case ConsumeRequest.RequestOneofCase.Ack:
                        _ = AcknowledgeAsync(subscription, consumer, next.Ack, stop.Token);
                        break;
                    case ConsumeRequest.RequestOneofCase.Redeliver:
                        subscription.Redeliver(consumer, [.. next.Redeliver.MessageIds.Select(id => new Position(id.LedgerId, id.EntryId))]);
                        break;
                    case ConsumeRequest.RequestOneofCase.NegativeAck:
                        NegativeAck(subscription, consumer, next.NegativeAck);
                        break;
                    case ConsumeRequest.RequestOneofCase.ReconsumeLater:
                        _ = ReconsumeLaterAsync(subscription, consumer, next.ReconsumeLater, stop.Token);
                        break;
                    default:
                        throw new BrokerException(BrokerErrorCode.BadRequest, "After Subscribe a Consume stream carries only Flow, Ack, RedeliverUnacknowledged, NegativeAck and ReconsumeLater messages.");
                }
            }
        }
        catch (OperationCanceledException) when (consumer.CloseReason is { } reason && !ct.IsCancellationRequested)
        {
            throw ClosedByBroker("Consumer", reason, topic);
        }
        finally
        {
            subscription.RemoveConsumer(consumer);
            consumer.Outbox.Writer.TryComplete();
            await topic.RemoveReaderAsync(subscription).ConfigureAwait(false);
            await writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        if (consumer.CloseReason is { } closed && !ct.IsCancellationRequested)
            throw ClosedByBroker("Consumer", closed, topic);
    }

    private static async Task<Subscription> SubscriptionForAsync(Topic topic, Subscribe request, CancellationToken cancellationToken)
    {
        var initial = request.InitialPosition == V1.InitialPosition.Earliest ? ManagedLedgers.InitialPosition.Earliest : ManagedLedgers.InitialPosition.Latest;
        if (!request.Reader)
        {
            var subscription = await topic.GetOrCreateSubscriptionAsync(request.Subscription, initial, cancellationToken).ConfigureAwait(false);
            if (request.ReplicateSubscriptionState)
                await Replication.ReplicatedSubscriptions.MarkReplicatedAsync(subscription, cancellationToken).ConfigureAwait(false);
            return subscription;
        }
        Position startExclusive;
        if (request.StartMessageId is { } id)
            startExclusive = request.StartInclusive ? new Position(id.LedgerId, id.EntryId - 1) : new Position(id.LedgerId, id.EntryId);
        else
            startExclusive = initial == ManagedLedgers.InitialPosition.Earliest ? Position.Earliest : topic.Ledger.LastConfirmedEntry;
        return topic.CreateReader(startExclusive);
    }

    /// <summary>The subscription types the broker serves; unknown values are refused.</summary>
    private static SubscriptionType CheckType(SubscriptionType type) => type switch
    {
        SubscriptionType.Exclusive or SubscriptionType.Shared or SubscriptionType.Failover or SubscriptionType.KeyShared => type,
        _ => throw new BrokerException(BrokerErrorCode.BadRequest, $"Unknown subscription type {(int)type}; use EXCLUSIVE, SHARED, FAILOVER or KEY_SHARED."),
    };

    /// <summary>A Key_Shared consumer's mode and STICKY ranges, checked before anything is created (an overlap with another consumer is checked on joining).</summary>
    private static (KeySharedPolicy.Types.Mode Mode, IReadOnlyList<KeyHashRange> Ranges) KeySharedOf(KeySharedPolicy? policy)
    {
        if (policy is null)
            return (KeySharedPolicy.Types.Mode.AutoSplit, []);
        if (policy.Mode == KeySharedPolicy.Types.Mode.AutoSplit)
        {
            if (policy.Ranges.Count > 0)
                throw new BrokerException(BrokerErrorCode.BadRequest, "AUTO_SPLIT Key_Shared consumers take the ranges the broker gives them; send ranges only with mode STICKY.");
            return (policy.Mode, []);
        }
        if (policy.Mode != KeySharedPolicy.Types.Mode.Sticky)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Unknown Key_Shared mode {(int)policy.Mode}; use AUTO_SPLIT or STICKY.");
        KeyHashRange[] ranges = [.. policy.Ranges.Select(r => new KeyHashRange(r.Start, r.End))];
        if (KeyHashRange.Check(ranges) is { } error)
            throw new BrokerException(BrokerErrorCode.BadRequest, error);
        return (policy.Mode, ranges);
    }

    private static async Task AcknowledgeAsync(Subscription subscription, Consumer consumer, Ack ack, CancellationToken cancellationToken)
    {
        var receipt = new AckReceipt { RequestId = ack.RequestId };
        try
        {
            if (subscription.IsDurable)
            {
                var positions = new AckPosition[ack.MessageIds.Count];
                for (var i = 0; i < positions.Length; i++)
                {
                    var id = ack.MessageIds[i];
                    positions[i] = new AckPosition(new Position(id.LedgerId, id.EntryId), id.BatchIndex < 0 ? -1 : id.BatchIndex, id.BatchSize);
                }
                await subscription.AckAsync(consumer, positions, ack.Cumulative, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Every acknowledgement is answered: the client waits for its receipt.
            receipt.Error = e.Message;
        }
        catch (OperationCanceledException)
        {
            return;
        }
        consumer.Outbox.Writer.TryWrite(new Wire.ConsumeResponse { AckReceipt = receipt });
    }

    private static Task WriteOutboxAsync(Consumer consumer, IServerStreamWriter<Wire.ConsumeResponse> responses, CancellationToken cancellationToken)
        => consumer.Outbox.Reader.WriteAllAsync(responses, cancellationToken);
}
