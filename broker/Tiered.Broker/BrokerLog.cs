using Microsoft.Extensions.Logging;

namespace Tiered.Broker;

/// <summary>The broker's log messages (event ids 4000–4999, see docs/observability.md).</summary>
internal static partial class BrokerLog
{
    [LoggerMessage(4000, LogLevel.Information, "Loading topic {Topic}", EventName = nameof(LoadingTopic))]
    public static partial void LoadingTopic(ILogger logger, string topic);

    [LoggerMessage(4001, LogLevel.Information, "Loaded topic {Topic}, last entry {LastEntry}", EventName = nameof(LoadedTopic))]
    public static partial void LoadedTopic(ILogger logger, string topic, string lastEntry);

    [LoggerMessage(4002, LogLevel.Warning, "Unloading topic {Topic} failed", EventName = nameof(UnloadFailed))]
    public static partial void UnloadFailed(ILogger logger, string topic, Exception exception);

    [LoggerMessage(4003, LogLevel.Warning, "Dispatching {Topic} subscription {Subscription} failed; retrying", EventName = nameof(DispatchFailed))]
    public static partial void DispatchFailed(ILogger logger, string topic, string subscription, Exception exception);

    [LoggerMessage(4004, LogLevel.Warning, "Retention or TTL of {Topic} failed; retrying at the next run", EventName = nameof(MaintenanceFailed))]
    public static partial void MaintenanceFailed(ILogger logger, string topic, Exception exception);

    [LoggerMessage(4005, LogLevel.Information, "{Topic} subscription {Subscription}: messages up to {Position} expired (message TTL)", EventName = nameof(MessagesExpired))]
    public static partial void MessagesExpired(ILogger logger, string topic, string subscription, string position);

    [LoggerMessage(4006, LogLevel.Information, "Producer {Producer} connected to {Topic}", EventName = nameof(ProducerOpened))]
    public static partial void ProducerOpened(ILogger logger, string producer, string topic);

    [LoggerMessage(4007, LogLevel.Information, "Consumer {Consumer} subscribed to {Topic} as {Subscription} ({Type})", EventName = nameof(ConsumerSubscribed))]
    public static partial void ConsumerSubscribed(ILogger logger, string consumer, string topic, string subscription, string type);

    [LoggerMessage(4008, LogLevel.Warning, "Storing a batch on {Topic} failed", EventName = nameof(PublishFailed))]
    public static partial void PublishFailed(ILogger logger, string topic, Exception exception);

    [LoggerMessage(4009, LogLevel.Information, "Broker serving gRPC on {GrpcUrl} and admin REST on {HttpUrl}", EventName = nameof(Started))]
    public static partial void Started(ILogger logger, string grpcUrl, string httpUrl);

    [LoggerMessage(4010, LogLevel.Error, "Unexpected failure in {Call}", EventName = nameof(CallFailed))]
    public static partial void CallFailed(ILogger logger, string call, Exception exception);

    [LoggerMessage(4011, LogLevel.Warning, "Offloading {Topic} failed", EventName = nameof(OffloadFailed))]
    public static partial void OffloadFailed(ILogger logger, string topic, Exception error);

    [LoggerMessage(4012, LogLevel.Debug, "{Call} ended by the client ({Exception})", EventName = nameof(CallEndedByClient))]
    public static partial void CallEndedByClient(ILogger logger, string call, string exception);

    [LoggerMessage(4013, LogLevel.Debug, "{Call} refused: {StatusCode} {Detail}", EventName = nameof(CallRefused))]
    public static partial void CallRefused(ILogger logger, string call, string statusCode, string detail);

    [LoggerMessage(EventId = 4014, EventName = nameof(BundleUnloaded), Level = LogLevel.Information, Message = "Bundle {Bundle} is no longer owned here; its topics were unloaded (new owner {Owner})")]
    public static partial void BundleUnloaded(ILogger logger, string bundle, string owner);

    [LoggerMessage(EventId = 4015, EventName = nameof(PolicyWatchLost), Level = LogLevel.Warning, Message = "The policy cache lost its watch; it reads the metadata service until the watch is back")]
    public static partial void PolicyWatchLost(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4016, EventName = nameof(DeduplicationRestored), Level = LogLevel.Information, Message = "Managed ledger {Ledger}: de-duplication state of {Producers} producers restored (snapshot at {Snapshot}, {Replayed} entries replayed)")]
    public static partial void DeduplicationRestored(ILogger logger, string ledger, int producers, string snapshot, int replayed);

    [LoggerMessage(EventId = 4017, EventName = nameof(DeduplicationSnapshotFailed), Level = LogLevel.Warning, Message = "Managed ledger {Ledger}: the de-duplication snapshot could not be stored; the next one tries again")]
    public static partial void DeduplicationSnapshotFailed(ILogger logger, string ledger, Exception exception);

    [LoggerMessage(EventId = 4018, EventName = nameof(DuplicateDropped), Level = LogLevel.Debug, Message = "Topic {Topic}: batch {SequenceId} of producer {Producer} was stored already at {Position}; not stored again")]
    public static partial void DuplicateDropped(ILogger logger, string topic, string producer, ulong sequenceId, string position);

    [LoggerMessage(EventId = 4019, EventName = nameof(ReplicatedMarkerFailed), Level = LogLevel.Warning, Message = "Topic {Topic}: the replicated subscriptions' marker stored at {Position} could not be acted on; the next snapshot stands in for it: {Reason}")]
    public static partial void ReplicatedMarkerFailed(ILogger logger, string topic, string position, string reason);
}
