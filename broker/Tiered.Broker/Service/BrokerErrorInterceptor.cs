using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Hosting;
using Tiered.Broker.Ownership;
using Tiered.Ledger;
using Tiered.ManagedLedgers;
using Tiered.Metadata;

namespace Tiered.Broker.Service;

/// <summary>
/// The one place where what a Messaging call throws becomes a gRPC status, for unary calls and
/// streams alike (an exception thrown out of a stream's handler ends the stream with the status).
/// A refusal (<see cref="BrokerException"/>) gets its code's status and a "tiered-error" trailer
/// naming the code; a request for a topic another broker owns (<see cref="OwnedElsewhereException"/>)
/// gets UNAVAILABLE with the owner in the "tiered-owner-url" and "tiered-owner-http-url" trailers;
/// storage failures UNAVAILABLE; anything else INTERNAL, logged as a failure. A call the client ended
/// (cancelled it, closed or lost its connection) is nobody's failure: whatever that made the call
/// throw is logged at debug and ends it as cancelled, without a status the client would not read.
/// </summary>
public sealed class BrokerErrorInterceptor(ILogger<BrokerErrorInterceptor> logger) : ErrorMappingInterceptor
{
    /// <summary>Trailer with the stable code of a refusal (e.g. "topic-not-found", "owned-elsewhere").</summary>
    public const string ErrorTrailer = "tiered-error";

    /// <summary>Trailer with the gRPC URL of the broker that owns the topic (with "owned-elsewhere").</summary>
    public const string OwnerTrailer = "tiered-owner-url";

    /// <summary>Trailer with the HTTP (admin API) URL of the broker that owns the topic.</summary>
    public const string OwnerHttpTrailer = "tiered-owner-http-url";

    /// <summary>What to end the call with instead of <paramref name="e"/>; null passes it on as it is (an <see cref="RpcException"/>, a cancellation).</summary>
    protected override Exception? Map(Exception e, ServerCallContext context)
    {
        if (e is RpcException)
            return null;
        if (context.CancellationToken.IsCancellationRequested)
        {
            if (e is OperationCanceledException)
                return null;
            BrokerLog.CallEndedByClient(logger, context.Method, e.GetType().Name);
            return new OperationCanceledException("The client ended the call.", e, context.CancellationToken);
        }
        if (ToRpc(e) is not { } rpc)
            return null;
        if (rpc.StatusCode == StatusCode.Internal)
            BrokerLog.CallFailed(logger, context.Method, e);
        else
            BrokerLog.CallRefused(logger, context.Method, rpc.StatusCode.ToString(), rpc.Status.Detail);
        return rpc;
    }

    /// <summary>The status (and trailers) a failure is reported with; null for cancellations and RpcExceptions.</summary>
    public static RpcException? ToRpc(Exception e) => e switch
    {
        RpcException or OperationCanceledException => null,
        OwnedElsewhereException moved => new RpcException(new Status(StatusCode.Unavailable, moved.Message), new Grpc.Core.Metadata
        {
            { ErrorTrailer, "owned-elsewhere" },
            { OwnerTrailer, moved.Owner.GrpcUrl },
            { OwnerHttpTrailer, moved.Owner.HttpUrl },
        }),
        BrokerException b => new RpcException(new Status(StatusOf(b.Code), b.Message), new Grpc.Core.Metadata { { ErrorTrailer, WireCode(b.Code) } }),
        // Grpc.AspNetCore's words for a stream message whose length prefix is above 2 GiB (OversizeMessageGuard covers the first message).
        IOException io when io.Message.StartsWith("Message too large", StringComparison.Ordinal)
            => new RpcException(new Status(StatusCode.ResourceExhausted, "A request message claims more than 2 GiB; the broker accepts messages up to its max_message_bytes.")),
        ManagedLedgerException or LedgerException or MetadataException => new RpcException(new Status(StatusCode.Unavailable, $"Storage is unavailable: {e.Message} Retry shortly.")),
        _ => new RpcException(new Status(StatusCode.Internal, $"Unexpected broker error: {e.Message}")),
    };

    private static StatusCode StatusOf(BrokerErrorCode code) => code switch
    {
        BrokerErrorCode.BadName or BrokerErrorCode.BadRequest => StatusCode.InvalidArgument,
        BrokerErrorCode.TenantNotFound or BrokerErrorCode.NamespaceNotFound or BrokerErrorCode.TopicNotFound
            or BrokerErrorCode.SubscriptionNotFound or BrokerErrorCode.ClusterNotFound or BrokerErrorCode.BundleNotFound or BrokerErrorCode.MessageNotFound => StatusCode.NotFound,
        BrokerErrorCode.AlreadyExists => StatusCode.AlreadyExists,
        BrokerErrorCode.Conflict or BrokerErrorCode.VersionConflict => StatusCode.FailedPrecondition,
        BrokerErrorCode.Unauthenticated => StatusCode.Unauthenticated,
        BrokerErrorCode.PermissionDenied => StatusCode.PermissionDenied,
        _ => StatusCode.Unavailable,
    };

    /// <summary>The code's stable name on the wire: kebab-case of the enum member (TopicNotFound → topic-not-found).</summary>
    private static string WireCode(BrokerErrorCode code) => code switch
    {
        BrokerErrorCode.BadName => "bad-name",
        BrokerErrorCode.BadRequest => "bad-request",
        BrokerErrorCode.TenantNotFound => "tenant-not-found",
        BrokerErrorCode.NamespaceNotFound => "namespace-not-found",
        BrokerErrorCode.TopicNotFound => "topic-not-found",
        BrokerErrorCode.SubscriptionNotFound => "subscription-not-found",
        BrokerErrorCode.ClusterNotFound => "cluster-not-found",
        BrokerErrorCode.BundleNotFound => "bundle-not-found",
        BrokerErrorCode.AlreadyExists => "already-exists",
        BrokerErrorCode.Conflict => "conflict",
        BrokerErrorCode.VersionConflict => "version-conflict",
        BrokerErrorCode.MessageNotFound => "message-not-found",
        BrokerErrorCode.Unauthenticated => "unauthenticated",
        BrokerErrorCode.PermissionDenied => "permission-denied",
        _ => "unavailable",
    };
}
