using Grpc.Core;

namespace Tiered.Client;

/// <summary>
/// A request the broker refused or that could not complete: the message says why, in the broker's words
/// when it gave some. <see cref="StatusCode"/> is the gRPC status, when the failure came as one.
/// </summary>
public class TieredClientException : Exception
{
    public TieredClientException()
    {
    }

    public TieredClientException(string message)
        : base(message)
    {
    }

    public TieredClientException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public TieredClientException(string message, StatusCode statusCode, Exception? innerException = null)
        : base(message, innerException) => StatusCode = statusCode;

    /// <summary>The gRPC status of the failure; <see cref="Grpc.Core.StatusCode.Unknown"/> when it did not come from one.</summary>
    public StatusCode StatusCode { get; } = StatusCode.Unknown;

    internal static TieredClientException From(RpcException e, string what) =>
        new($"{what}: {(string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail)} ({e.StatusCode})", e.StatusCode, e);
}
