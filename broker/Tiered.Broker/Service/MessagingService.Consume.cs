using Grpc.Core;
using Tiered.Broker.Naming;
using Tiered.Broker.Subscriptions;
using Tiered.Broker.Topics;
using Tiered.ManagedLedger;
using Tiered.Proto.Streams;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

public sealed partial class MessagingService
{
    private static long _consumerNames;

    public override Task Consume(IAsyncStreamReader<ConsumeRequest> requests, IServerStreamWriter<Wire.ConsumeResponse> responses, ServerCallContext context)
        => Guard(nameof(Consume), async () =>
        {
            var ct = context.CancellationToken;
            if (!await requests.MoveNext(ct).ConfigureAwait(false))
                return;
            if (requests.Current.RequestCase != ConsumeRequest.RequestOneofCase.Subscribe)
                throw new BrokerException(BrokerErrorCode.BadRequest, "The first message of a Consume stream must be Subscribe.");
            var request = requests.Current.Subscribe;
            var topic = await topics.GetTopicAsync(TopicName.Parse(request.Topic), create: true, ct).ConfigureAwait(false);
            var subscription = await SubscriptionForAsync(topic, request, ct).ConfigureAwait(false);
            var consumer = new Consumer(string.IsNullOrEmpty(request.ConsumerName) ? $"consumer-{Interlocked.Increment(ref _consumerNames)}" : request.ConsumerName,
                request.Reader ? SubscriptionType.Exclusive : request.Type, context.Peer, topic.Time);
            consumer.Outbox.Writer.TryWrite(new Wire.ConsumeResponse
            {
                Subscribed = new Subscribed { Topic = topic.Name.ToString(), Subscription = subscription.Name, ConsumerName = consumer.Name },
            });
            try
            {
                subscription.AddConsumer(consumer);
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
                        default:
                            throw new BrokerException(BrokerErrorCode.BadRequest, "After Subscribe a Consume stream carries only Flow, Ack and RedeliverUnacknowledged messages.");
                    }
                }
            }
            catch (OperationCanceledException) when (consumer.CloseReason is { } reason && !ct.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.Unavailable, $"Consumer closed by the broker: {reason}."));
            }
            finally
            {
                subscription.RemoveConsumer(consumer);
                consumer.Outbox.Writer.TryComplete();
                await topic.RemoveReaderAsync(subscription).ConfigureAwait(false);
                await writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            if (consumer.CloseReason is { } closed && !ct.IsCancellationRequested)
                throw new RpcException(new Status(StatusCode.Unavailable, $"Consumer closed by the broker: {closed}."));
        });

    private static async Task<Subscription> SubscriptionForAsync(Topic topic, Subscribe request, CancellationToken cancellationToken)
    {
        var initial = request.InitialPosition == V1.InitialPosition.Earliest ? ManagedLedger.InitialPosition.Earliest : ManagedLedger.InitialPosition.Latest;
        if (!request.Reader)
        {
            if (string.IsNullOrWhiteSpace(request.Subscription))
                throw new BrokerException(BrokerErrorCode.BadRequest, "A subscription name is required (or set reader = true to read without one).");
            if (request.Subscription.Length > 256 || request.Subscription.Any(char.IsControl))
                throw new BrokerException(BrokerErrorCode.BadName, $"Invalid subscription name '{request.Subscription}': at most 256 characters, no control characters.");
            return await topic.GetOrCreateSubscriptionAsync(request.Subscription, initial, cancellationToken).ConfigureAwait(false);
        }
        Position startExclusive;
        if (request.StartMessageId is { } id)
            startExclusive = request.StartInclusive ? new Position(id.LedgerId, id.EntryId - 1) : new Position(id.LedgerId, id.EntryId);
        else
            startExclusive = initial == ManagedLedger.InitialPosition.Earliest ? Position.Earliest : topic.Ledger.LastConfirmedEntry;
        return topic.CreateReader(startExclusive);
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
                    var wholeEntry = id.BatchSize <= 1 && id.BatchIndex <= 0;
                    positions[i] = new AckPosition(new Position(id.LedgerId, id.EntryId), wholeEntry ? -1 : id.BatchIndex, id.BatchSize);
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
