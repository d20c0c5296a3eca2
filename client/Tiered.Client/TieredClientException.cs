using Grpc.Core;
using Tiered.Proto.Tls;

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

    /// <summary>
    /// True when the address refused HTTP/2 (HTTP_1_1_REQUIRED): it serves HTTP/1.1 only, as the admin REST API does,
    /// so it is the wrong port for this client.
    /// </summary>
    public bool ServerRefusedHttp2 => IsHttp11Required(InnerException);

    internal static TieredClientException From(RpcException e, string what) => TlsTrust.HandshakeFailure(e) is { } handshake
        ? new($"{what}: the server certificate is not trusted ({handshake.Message}). Give the client the CA that signed the broker's certificate "
            + $"with {TlsTrust.OptionNames}; the certificate must also name the host in the URL.", StatusCode.Unavailable, e)
        : IsHttp11Required(e)
        ? new($"{what}: the server refused HTTP/2 (HTTP_1_1_REQUIRED), so it is no broker's gRPC port; it looks like the admin REST port "
            + "(HTTP/1.1, default 8080). Point the client at a broker's gRPC port (default 6650).", e.StatusCode, e)
        : new($"{what}: {(string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail)} ({e.StatusCode})", e.StatusCode, e);

    /// <summary>
    /// True when the server closed the HTTP/2 connection with HTTP_1_1_REQUIRED: an HTTP/1.1-only endpoint, such as
    /// the admin REST API, was given where a broker's gRPC port belongs. Retrying cannot help.
    /// </summary>
    internal static bool IsHttp11Required(Exception? e)
    {
        const long http11Required = 0xd;
        for (var depth = 0; e is not null && depth < 8; depth++)
        {
            if (e is System.Net.Http.HttpProtocolException { ErrorCode: http11Required })
                return true;
            e = e is RpcException { Status.DebugException: { } debug } ? debug : e.InnerException;
        }
        return false;
    }
}
