using Microsoft.Extensions.Logging;

namespace Tiered.Client;

internal static partial class LogMessages
{
    [LoggerMessage(EventId = 8001, EventName = nameof(ProducerOpened), Level = LogLevel.Debug, Message = "Producer {Producer} opened on {Topic} at {BrokerUrl}")]
    public static partial void ProducerOpened(this ILogger logger, string producer, string topic, string brokerUrl);

    [LoggerMessage(EventId = 8009, EventName = nameof(ProducerReopened), Level = LogLevel.Information, Message = "Producer {Producer} reconnected to {Topic} at {BrokerUrl}; resending {Batches} unacknowledged batches")]
    public static partial void ProducerReopened(this ILogger logger, string producer, string topic, string brokerUrl, int batches);

    [LoggerMessage(EventId = 8002, EventName = nameof(ProducerReconnecting), Level = LogLevel.Warning, Message = "Producer on {Topic} lost its stream; reconnecting in {DelayMs} ms")]
    public static partial void ProducerReconnecting(this ILogger logger, Exception exception, string topic, long delayMs);

    [LoggerMessage(EventId = 8003, EventName = nameof(ProducerFailed), Level = LogLevel.Error, Message = "Producer on {Topic} failed and is closed")]
    public static partial void ProducerFailed(this ILogger logger, Exception exception, string topic);

    [LoggerMessage(EventId = 8004, EventName = nameof(ConsumerSubscribed), Level = LogLevel.Debug, Message = "Consumer {Consumer} subscribed to {Topic} ({Subscription}) at {BrokerUrl}")]
    public static partial void ConsumerSubscribed(this ILogger logger, string consumer, string topic, string subscription, string brokerUrl);

    [LoggerMessage(EventId = 8010, EventName = nameof(ConsumerResubscribed), Level = LogLevel.Information, Message = "Consumer {Consumer} subscribed again to {Topic} ({Subscription}) at {BrokerUrl}; messages it had queued are dropped and redelivered")]
    public static partial void ConsumerResubscribed(this ILogger logger, string consumer, string topic, string subscription, string brokerUrl);

    [LoggerMessage(EventId = 8005, EventName = nameof(ConsumerReconnecting), Level = LogLevel.Warning, Message = "Consumer on {Topic} lost its stream; reconnecting in {DelayMs} ms")]
    public static partial void ConsumerReconnecting(this ILogger logger, Exception exception, string topic, long delayMs);

    [LoggerMessage(EventId = 8006, EventName = nameof(ConsumerFailed), Level = LogLevel.Error, Message = "Consumer on {Topic} failed and is closed")]
    public static partial void ConsumerFailed(this ILogger logger, Exception exception, string topic);

    [LoggerMessage(EventId = 8007, EventName = nameof(UnexpectedReceipt), Level = LogLevel.Warning, Message = "Producer on {Topic} got a receipt for sequence id {Received} while expecting {Expected}; reconnecting")]
    public static partial void UnexpectedReceipt(this ILogger logger, string topic, ulong received, ulong expected);

    [LoggerMessage(EventId = 8011, EventName = nameof(ServiceHostFailed), Level = LogLevel.Warning, Message = "Lookup of {Topic} failed at service URL host {Failure}; asking {Next}")]
    public static partial void ServiceHostFailed(this ILogger logger, string topic, string failure, string next);

    [LoggerMessage(EventId = 8008, EventName = nameof(ActiveChanged), Level = LogLevel.Debug, Message = "Consumer on {Topic}: active = {IsActive}")]
    public static partial void ActiveChanged(this ILogger logger, string topic, bool isActive);
}
