using Grpc.Core;
using Tiered.Broker.Naming;
using Tiered.Broker.Subscriptions;
using Tiered.ManagedLedgers;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

/// <summary>Negative acks, ack timeout, dead-letter and retry topics on the Consume stream (docs/messaging.md).</summary>
public sealed partial class MessagingService
{
    /// <summary>Pulsar's default negative-ack delay.</summary>
    internal const long DefaultNegativeAckDelayMs = 60_000;

    /// <summary>The shortest ack timeout (as Pulsar): a shorter one would redeliver what consumers are still working on.</summary>
    internal const long MinAckTimeoutMs = 1_000;

    /// <summary>Checks Subscribe's negative-ack and ack-timeout fields (before anything is created); refused with INVALID_ARGUMENT.</summary>
    private static (long NackDelayMs, long NackMaxDelayMs, long AckTimeoutMs) NegativeAckSettingsOf(Subscribe request)
    {
        if (request.NegativeAckDelayMs < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"negative_ack_delay_ms is {request.NegativeAckDelayMs}; give 0 (60000, the default) or more.");
        if (request.NegativeAckMaxDelayMs < 0)
            throw new BrokerException(BrokerErrorCode.BadRequest, $"negative_ack_max_delay_ms is {request.NegativeAckMaxDelayMs}; give 0 (a fixed delay) or more.");
        if (request.AckTimeoutMs < 0 || (request.AckTimeoutMs > 0 && request.AckTimeoutMs < MinAckTimeoutMs))
            throw new BrokerException(BrokerErrorCode.BadRequest, $"ack_timeout_ms is {request.AckTimeoutMs}; give 0 (no ack timeout) or at least {MinAckTimeoutMs}.");
        var delay = request.NegativeAckDelayMs == 0 ? DefaultNegativeAckDelayMs : request.NegativeAckDelayMs;
        return (delay, request.NegativeAckMaxDelayMs, request.AckTimeoutMs);
    }

    /// <summary>
    /// The dead-letter policy of a Subscribe (null: none), its topics named and the consumer's role allowed to produce
    /// on them: checked before anything is created.
    /// </summary>
    private async Task<DeadLetterSettings?> DeadLetterSettingsOfAsync(Subscribe request, TopicName topic, ServerCallContext context, CancellationToken cancellationToken)
    {
        if (request.Reader || request.DeadLetterPolicy is not { } policy)
            return null;
        var settings = DeadLetterSettings.Of(topic, request.Subscription, policy);
        foreach (var letters in new[] { settings.DeadLetterTopic, settings.RetryLetterTopic })
        {
            try
            {
                await access.CheckProduceAsync(context.GetHttpContext(), letters, cancellationToken).ConfigureAwait(false);
            }
            catch (BrokerException e)
            {
                throw new BrokerException(e.Code, $"The dead-letter policy names {letters}: {e.Message}", e);
            }
        }
        return settings;
    }

    /// <summary>After Subscribe: the subscription's policy and how it reaches its dead-letter and retry topics.</summary>
    private void ApplyDeadLetter(Subscription subscription, DeadLetterSettings? settings)
    {
        if (settings is not null)
            subscription.DeadLetter = settings;
        subscription.LetterTopics ??= OpenLetterTopicAsync;
    }

    /// <summary>
    /// A dead-letter or retry topic for one move: loaded here when this broker owns it (or acquires its bundle, nobody
    /// owning it), else a producer on its owner. The owner is asked anew at each move, so a topic that moved is
    /// followed: a move the old owner refused (owned elsewhere) fails, and is tried again a second later.
    /// </summary>
    private async Task<ILetterTopic> OpenLetterTopicAsync(TopicName name, string? producer, CancellationToken cancellationToken)
    {
        try
        {
            return new LocalLetterTopic(await topics.GetTopicAsync(name, create: true, cancellationToken).ConfigureAwait(false), producer);
        }
        catch (Ownership.OwnedElsewhereException moved)
        {
            var url = moved.Owner.GrpcUrl;
            return await RemoteLetterTopic.OpenAsync(letterChannels.Invoker(url), url, name.ToString(), producer, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void NegativeAck(Subscription subscription, Consumer consumer, NegativeAck nack)
    {
        var ids = new (Position, int)[nack.MessageIds.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            var id = nack.MessageIds[i];
            ids[i] = (new Position(id.LedgerId, id.EntryId), id.BatchIndex);
        }
        subscription.NegativeAck(consumer, ids);
    }

    private static async Task ReconsumeLaterAsync(Subscription subscription, Consumer consumer, ReconsumeLater request, CancellationToken cancellationToken)
    {
        var receipt = new AckReceipt { RequestId = request.RequestId };
        try
        {
            if (request.MessageId is not { } id)
                throw new BrokerException(BrokerErrorCode.BadRequest, "ReconsumeLater needs the message_id of the message to reconsume.");
            await subscription.ReconsumeLaterAsync(consumer, new Position(id.LedgerId, id.EntryId), id.BatchIndex, request.DelayMs, request.Properties, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Answered like an acknowledgement: the client waits for its receipt.
            receipt.Error = e.Message;
        }
        catch (OperationCanceledException)
        {
            return;
        }
        consumer.Outbox.Writer.TryWrite(new Wire.ConsumeResponse { AckReceipt = receipt });
    }
}
