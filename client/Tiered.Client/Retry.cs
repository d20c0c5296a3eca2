using Grpc.Core;
using Tiered.Proto.Tls;

namespace Tiered.Client;

/// <summary>Which failures a producer or consumer outlives by reconnecting (how long it waits: <see cref="Sessions.Backoff"/>).</summary>
internal static class Retry
{
    /// <summary>
    /// True for failures that a new stream (after a new lookup) may not have: the broker restarting or moving the
    /// topic, storage unreachable, a stream cut. False for the refusals the contract calls permanent.
    /// </summary>
    /// <param name="everOpened">
    /// After a first success, "already exists" or "failed precondition" (an exclusive subscription or a producer
    /// name in use) most likely means our own previous stream, which the broker has not dropped yet.
    /// </param>
    public static bool IsRetriable(Exception e, bool everOpened) => e switch
    {
        RpcException rpc when TieredClientException.IsHttp11Required(rpc) => false,
        // An untrusted certificate stays untrusted: no point in retrying until the operation times out.
        RpcException rpc when TlsTrust.IsHandshakeFailure(rpc) => false,
        RpcException rpc => rpc.StatusCode switch
        {
            StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.PermissionDenied or StatusCode.Unauthenticated
                or StatusCode.Unimplemented or StatusCode.OutOfRange => false,
            StatusCode.AlreadyExists or StatusCode.FailedPrecondition => everOpened,
            _ => true,
        },
        StreamEndedException => true,
        ServiceHostsFailedException => true,
        HttpRequestException or IOException => true,
        _ => false,
    };

    /// <summary>
    /// True when the broker itself could not be reached or the connection to it broke (refused, reset, ended
    /// prematurely), as opposed to an answer the broker sent: gRPC raises those on the client side, with the cause.
    /// </summary>
    public static bool IsUnreachable(Exception e) => e switch
    {
        RpcException rpc => rpc.StatusCode == StatusCode.Unavailable && rpc.Status.DebugException is not null,
        HttpRequestException or IOException => true,
        _ => false,
    };
}

/// <summary>The broker ended a stream (or broke its protocol) without an error status; the client reconnects.</summary>
internal sealed class StreamEndedException(string message) : Exception(message);

/// <summary>
/// A lookup failed at every host of a service URL that names several, each in a way a retry may cure; the message
/// names every host with its error. <see cref="Last"/> is the last host's failure.
/// </summary>
internal sealed class ServiceHostsFailedException(string message, RpcException last) : Exception(message, last)
{
    public RpcException Last { get; } = last;
}
