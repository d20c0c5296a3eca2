using Microsoft.Extensions.Logging;

namespace Tiered.Broker.Subscriptions;

/// <summary>Log messages of negative acks, ack timeout and dead-letter topics (event ids 4100-4119).</summary>
internal static partial class NegativeAckLog
{
    [LoggerMessage(EventId = 4100, EventName = nameof(CountsNotStored), Level = LogLevel.Warning, Message = "Subscription {Subscription} of {Topic}: redelivery counts could not be stored yet; they are stored before the next redelivery: {Reason}")]
    public static partial void CountsNotStored(ILogger logger, string topic, string subscription, string reason);

    [LoggerMessage(EventId = 4101, EventName = nameof(DeadLettered), Level = LogLevel.Information, Message = "Subscription {Subscription} of {Topic}: entry {Position} ({Messages} message(s)) moved to the dead-letter topic {DeadLetterTopic}")]
    public static partial void DeadLettered(ILogger logger, string topic, string subscription, string position, int messages, string deadLetterTopic);

    [LoggerMessage(EventId = 4102, EventName = nameof(DeadLetterFailed), Level = LogLevel.Warning, Message = "Subscription {Subscription} of {Topic}: entry {Position} could not be moved to the dead-letter topic {DeadLetterTopic} yet; it stays here and is tried again")]
    public static partial void DeadLetterFailed(ILogger logger, string topic, string subscription, string position, string deadLetterTopic, Exception exception);

    [LoggerMessage(EventId = 4103, EventName = nameof(DeadLetterResumed), Level = LogLevel.Warning, Message = "Subscription {Subscription} of {Topic}: resuming the move of entry {Position} to the dead-letter topic {DeadLetterTopic}, which a crash interrupted (found stored there: {Stored}); sent unless found, the topic's de-duplication dropping a resend where it was not searched (a topic on another broker)")]
    public static partial void DeadLetterResumed(ILogger logger, string topic, string subscription, string position, string deadLetterTopic, bool stored);
}
