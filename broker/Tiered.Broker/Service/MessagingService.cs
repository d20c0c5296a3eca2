using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Service;

/// <summary>
/// The tiered.v1.Messaging gRPC service: lookups, producer and consumer streams, last message id
/// and seek. Every path to a topic passes the topic registry's <see cref="IOwnershipGate"/>. What a
/// call throws becomes a gRPC status in one place, <see cref="BrokerErrorInterceptor"/>; every
/// refusal's message says what to do.
/// </summary>
public sealed partial class MessagingService(TopicRegistry topics, Security.AccessControl access, LetterChannels letterChannels, ILogger<MessagingService> logger) : MessagingServiceBase
{
    private readonly BrokerOptions _options = topics.Options;

    /// <summary>
    /// Answers the topic's partitions and the broker that serves it: this one, or the owner the
    /// gate names (acquiring the topic's bundle when nobody owns it). Opens nothing. A partitioned
    /// topic's partitions may each have another owner: the client looks each one up. The answer is
    /// <see cref="TopicRegistry.LookupAsync"/>'s, which the admin API's HTTP lookup gives too.
    /// </summary>
    public override async Task<LookupResponse> Lookup(LookupRequest request, ServerCallContext context)
    {
        var name = TopicName.Parse(request.Topic);
        await access.CheckLookupAsync(context.GetHttpContext(), name, context.CancellationToken).ConfigureAwait(false);
        var lookup = await topics.LookupAsync(name, context.CancellationToken, request.UnreachableBrokerUrl).ConfigureAwait(false);
        var owner = lookup.Owner;
        var (address, tls) = Dialable(owner.GrpcUrl);
        return new LookupResponse
        {
            Topic = lookup.Topic.ToString(),
            BrokerUrl = owner.GrpcUrl,
            Partitions = lookup.Partitions,
            BrokerAddress = address,
            BrokerTls = tls,
        };
    }

    /// <summary>A broker URL as the host:port target every gRPC stack dials, and whether it wants TLS.</summary>
    private static (string Address, bool Tls) Dialable(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            return ($"{uri.Host}:{uri.Port}", uri.Scheme == Uri.UriSchemeHttps);
        // Not an http(s) URL: a bare host:port is already a target.
        return (url, false);
    }

    public override async Task<GetLastMessageIdResponse> GetLastMessageId(GetLastMessageIdRequest request, ServerCallContext context)
    {
        var name = TopicName.Parse(request.Topic);
        await access.CheckConsumeAsync(context.GetHttpContext(), name, subscription: null, context.CancellationToken).ConfigureAwait(false);
        var topic = await topics.GetTopicAsync(name, create: false, context.CancellationToken).ConfigureAwait(false);
        return new GetLastMessageIdResponse { MessageId = await TopicPositions.LastMessageIdAsync(topic, context.CancellationToken).ConfigureAwait(false) };
    }

    public override async Task<SeekResponse> Seek(SeekRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var name = TopicName.Parse(request.Topic);
        await access.CheckConsumeAsync(context.GetHttpContext(), name, request.Subscription, ct).ConfigureAwait(false);
        var topic = await topics.GetTopicAsync(name, create: false, ct).ConfigureAwait(false);
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
    }

    /// <summary>
    /// Why the broker ended a producer's or consumer's stream: a redirect when the topic moved to
    /// another broker (its clients go there), else UNAVAILABLE with the reason (they reconnect).
    /// </summary>
    private static Exception ClosedByBroker(string who, string reason, Topic topic)
        => topic.NewOwner is { } owner
            ? new OwnedElsewhereException(topic.Name, owner)
            : new RpcException(new Status(StatusCode.Unavailable, $"{who} closed by the broker: {reason}."));
}
