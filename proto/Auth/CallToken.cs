using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Tiered.Proto.Auth;

/// <summary>
/// The bearer token a gRPC caller sends as <c>authorization: Bearer TOKEN</c> on every call: a fixed token, or the
/// content of a file (surrounding white space ignored). A file is read again when it changes (its size or last write
/// time), so a token rotated by rewriting the file is used from the next call on, without a restart; an unchanged file
/// costs one stat per call. Used by the .NET client (<c>--token</c>, <c>--token-file</c>), by the components' own
/// connections to the metadata service and the bookies (<c>--component-token-file</c>), and by geo-replication.
/// </summary>
/// <remarks>
/// Sent by a call interceptor that adds the header, not by <see cref="CallCredentials"/>: Grpc.Net.Client refuses call
/// credentials on an http:// channel unless UnsafeUseInsecureChannelCallCredentials is set for the whole channel, while
/// a cluster without TLS (as on 127.0.0.1) must still receive the token. Without TLS the token crosses the network in
/// clear text, as Pulsar's does.
/// </remarks>
public sealed class CallToken
{
    /// <summary>The header, and the gRPC metadata key (gRPC keys are lower case).</summary>
    public const string HeaderName = "authorization";

    private readonly string? _token;
    private readonly string? _file;
    private readonly Lock _lock = new();
    private (DateTime Written, long Length, string Token)? _read;

    private CallToken(string? token, string? file) => (_token, _file) = (token, file);

    /// <summary>The file the token is read from; null for a fixed token.</summary>
    public string? File => _file;

    public static CallToken Fixed(string token)
        => string.IsNullOrWhiteSpace(token) ? throw new ArgumentException("The token is empty.", nameof(token)) : new(token.Trim(), null);

    /// <summary>A token read from <paramref name="path"/> at each call (when it changed); the file need not exist yet.</summary>
    public static CallToken FromFile(string path)
        => string.IsNullOrWhiteSpace(path) ? throw new ArgumentException("The token file's path is empty.", nameof(path)) : new(null, Path.GetFullPath(path));

    /// <summary>The header value for this token now: <c>Bearer TOKEN</c>.</summary>
    public string HeaderValue() => "Bearer " + Current();

    /// <summary><paramref name="invoker"/> with the authorization header added to every call.</summary>
    public CallInvoker Intercept(CallInvoker invoker) => invoker.Intercept(metadata =>
    {
        metadata.Add(HeaderName, HeaderValue());
        return metadata;
    });

    /// <summary>
    /// The token now: the fixed one, or the file's content. A file that cannot be read, is empty or holds more than one
    /// line fails the call as UNAUTHENTICATED (not retried) with the reason; its content is never quoted.
    /// </summary>
    public string Current()
    {
        if (_file is null)
            return _token!;
        try
        {
            var info = new FileInfo(_file);
            var (written, length) = (info.LastWriteTimeUtc, info.Exists ? info.Length : -1);
            lock (_lock)
            {
                if (_read is { } read && read.Written == written && read.Length == length)
                    return read.Token;
            }
            var text = System.IO.File.ReadAllText(_file).Trim();
            if (text.Length == 0)
                throw Refused($"the token file {_file} is empty");
            if (text.AsSpan().IndexOfAny('\r', '\n') >= 0)
                throw Refused($"the token file {_file} holds more than one line; it must hold the token alone");
            lock (_lock)
                _read = (written, length, text);
            return text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "it does not exist",
                UnauthorizedAccessException => "permission denied",
                _ => e.GetType().Name,
            };
            throw Refused($"cannot read the token file {_file}: {why}");
        }
    }

    private static RpcException Refused(string reason) => new(new Status(StatusCode.Unauthenticated, reason));
}
