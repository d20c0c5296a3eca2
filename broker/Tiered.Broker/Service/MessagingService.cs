using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Naming;
using Tiered.Broker.Topics;
using Tiered.Ledger;
using Tiered.ManagedLedgers;
using Tiered.Metadata;
using Tiered.V1;

namespace Tiered.Broker.Service;

/// <summary>
/// The tiered.v1.Messaging gRPC service: lookups, producer and consumer streams, last message id
/// and seek. Every refusal is a gRPC status whose message says what to do.
/// </summary>
public sealed partial class MessagingService(TopicRegistry topics, ILogger<MessagingService> logger) : MessagingServiceBase
{
    private readonly BrokerOptions _options = topics.Options;
    private readonly (string Address, bool Tls) _advertised = Dialable(topics.Options.ResolvedAdvertisedUrl);

    public override Task<LookupResponse> Lookup(LookupRequest request, ServerCallContext context) => Guard(nameof(Lookup), context, async () =>
    {
        var topic = TopicName.Parse(request.Topic);
        var ct = context.CancellationToken;
        var policies = await topics.Policies.RequireNamespaceAsync(topic.Namespace, ct).ConfigureAwait(false);
        var partitions = await topics.Policies.GetPartitionsAsync(topic, ct).ConfigureAwait(false);
        if (partitions == 0 && policies.AutoTopicCreationOverride is { AllowAutoTopicCreation: true, TopicType: "partitioned", DefaultNumPartitions: > 0 and var count }
            && topic.PartitionIndex < 0
            && !await ManagedLedger.ExistsAsync(topic.ManagedLedgerName, topics.Policies.Metadata, ct).ConfigureAwait(false))
        {
            await topics.Policies.TryCreatePartitionedAsync(topic, count, ct).ConfigureAwait(false);
            partitions = await topics.Policies.GetPartitionsAsync(topic, ct).ConfigureAwait(false);
        }
        return new LookupResponse
        {
            Topic = topic.ToString(),
            BrokerUrl = _options.ResolvedAdvertisedUrl,
            Partitions = partitions,
            BrokerAddress = _advertised.Address,
            BrokerTls = _advertised.Tls,
        };
    });

    /// <summary>The advertised URL as the host:port target every gRPC stack dials, and whether it wants TLS.</summary>
    private static (string Address, bool Tls) Dialable(string advertisedUrl)
    {
        if (Uri.TryCreate(advertisedUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            return ($"{uri.Host}:{uri.Port}", uri.Scheme == Uri.UriSchemeHttps);
        // Not an http(s) URL: a bare host:port is already a target.
        return (advertisedUrl, false);
    }

    public override Task<GetLastMessageIdResponse> GetLastMessageId(GetLastMessageIdRequest request, ServerCallContext context) => Guard(nameof(GetLastMessageId), context, async () =>
    {
        var topic = await topics.GetTopicAsync(TopicName.Parse(request.Topic), create: false, context.CancellationToken).ConfigureAwait(false);
        return new GetLastMessageIdResponse { MessageId = await TopicPositions.LastMessageIdAsync(topic, context.CancellationToken).ConfigureAwait(false) };
    });

    public override Task<SeekResponse> Seek(SeekRequest request, ServerCallContext context) => Guard(nameof(Seek), context, async () =>
    {
        var ct = context.CancellationToken;
        var topic = await topics.GetTopicAsync(TopicName.Parse(request.Topic), create: false, ct).ConfigureAwait(false);
        var subscription = topic.FindSubscription(request.Subscription) is { IsDurable: true } found ? found
            : throw new BrokerException(BrokerErrorCode.SubscriptionNotFound, $"Subscription '{request.Subscription}' does not exist on {topic.Name}.");
        var target = request.TargetCase switch
        {
            SeekRequest.TargetOneofCase.MessageId => new Position(request.MessageId.LedgerId, request.MessageId.EntryId),
            SeekRequest.TargetOneofCase.PublishTimeMs => await TopicPositions.FindByPublishTimeAsync(topic.Ledger, request.PublishTimeMs, ct).ConfigureAwait(false),
            _ => throw new BrokerException(BrokerErrorCode.BadRequest, "Seek needs a message_id or a publish_time_ms."),
        };
        await subscription.ResetAsync(target, ct).ConfigureAwait(false);
        return new SeekResponse();
    });

    /// <summary>
    /// Runs a call, turning what it throws into a gRPC status with a clear message. A call the client
    /// ended (cancelled it, closed or lost its connection) is nobody's failure: whatever that made the
    /// call throw is logged at debug and ends it as cancelled, without a status the client would not read.
    /// </summary>
    private async Task<T> Guard<T>(string call, ServerCallContext context, Func<Task<T>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (context.CancellationToken.IsCancellationRequested && e is not RpcException)
        {
            BrokerLog.CallEndedByClient(logger, call, e.GetType().Name);
            throw new OperationCanceledException("The client ended the call.", e, context.CancellationToken);
        }
        catch (Exception e) when (ToStatus(e) is { } status)
        {
            if (status.StatusCode == StatusCode.Internal)
                BrokerLog.CallFailed(logger, call, e);
            else
                BrokerLog.CallRefused(logger, call, status.StatusCode.ToString(), status.Detail);
            throw new RpcException(status);
        }
    }

    private Task Guard(string call, ServerCallContext context, Func<Task> body) => Guard(call, context, async () =>
    {
        await body().ConfigureAwait(false);
        return true;
    });

    /// <summary>The status a failure is reported with; null for cancellation by the client (and for RpcExceptions, passed on as they are).</summary>
    internal static Status? ToStatus(Exception e) => e switch
    {
        RpcException or OperationCanceledException => null,
        BrokerException b => new Status(b.Code switch
        {
            BrokerErrorCode.BadName or BrokerErrorCode.BadRequest => StatusCode.InvalidArgument,
            BrokerErrorCode.TenantNotFound or BrokerErrorCode.NamespaceNotFound or BrokerErrorCode.TopicNotFound
                or BrokerErrorCode.SubscriptionNotFound or BrokerErrorCode.ClusterNotFound or BrokerErrorCode.MessageNotFound => StatusCode.NotFound,
            BrokerErrorCode.AlreadyExists => StatusCode.AlreadyExists,
            BrokerErrorCode.Conflict or BrokerErrorCode.VersionConflict => StatusCode.FailedPrecondition,
            _ => StatusCode.Unavailable,
        }, b.Message),
        // Grpc.AspNetCore's words for a stream message whose length prefix is above 2 GiB (OversizeMessageGuard covers the first message).
        IOException io when io.Message.StartsWith("Message too large", StringComparison.Ordinal)
            => new Status(StatusCode.ResourceExhausted, "A request message claims more than 2 GiB; the broker accepts messages up to its max_message_bytes."),
        ManagedLedgerException or LedgerException or MetadataException => new Status(StatusCode.Unavailable, $"Storage is unavailable: {e.Message} Retry shortly."),
        _ => new Status(StatusCode.Internal, $"Unexpected broker error: {e.Message}"),
    };
}
