using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Tiered.Client;

/// <summary>
/// The authentication token a client sends, as <c>authorization: Bearer TOKEN</c> metadata on every gRPC call
/// (lookups, produce and consume streams, seeks, last-message-id). Where it comes from, first match wins:
/// <see cref="TieredClientOptions.Token"/>, <see cref="TieredClientOptions.TokenFile"/> (read again for every call, so
/// each new stream and lookup picks up a rotated file), then the environment variable <c>TIERED_TOKEN</c>.
/// </summary>
/// <remarks>
/// Sent by a call interceptor that adds the header, not by <see cref="CallCredentials"/>: Grpc.Net.Client refuses call
/// credentials on an http:// channel unless UnsafeUseInsecureChannelCallCredentials is set for the whole channel, while
/// a cluster without TLS yet (as on 127.0.0.1) must still receive the token. Without TLS the token crosses the network
/// in clear text, as Pulsar's does; use https:// service URLs off loopback.
/// </remarks>
internal sealed class ClientToken
{
    public const string EnvironmentVariable = "TIERED_TOKEN";

    private const string HeaderName = "authorization";

    private readonly string? _token;
    private readonly string? _file;

    private ClientToken(string? token, string? file)
    {
        _token = token;
        _file = file;
    }

    /// <summary>None when no option names a token and TIERED_TOKEN is unset or empty.</summary>
    public static ClientToken? From(TieredClientOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Token))
            return new ClientToken(options.Token.Trim(), null);
        if (!string.IsNullOrWhiteSpace(options.TokenFile))
            return new ClientToken(null, options.TokenFile);
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? null : new ClientToken(fromEnvironment.Trim(), null);
    }

    /// <summary>The channel's call invoker with the authorization header added to every call.</summary>
    public CallInvoker Intercept(CallInvoker invoker) => invoker.Intercept(AddHeader);

    private Grpc.Core.Metadata AddHeader(Grpc.Core.Metadata metadata)
    {
        metadata.Add(HeaderName, "Bearer " + Current());
        return metadata;
    }

    /// <summary>
    /// The token now: the option's, or the file's content without surrounding white space. A file that cannot be read
    /// fails the call as UNAUTHENTICATED (not retried) with the reason; its content is never quoted.
    /// </summary>
    internal string Current()
    {
        if (_file is null)
            return _token!;
        string text;
        try
        {
            text = File.ReadAllText(_file).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "it does not exist",
                UnauthorizedAccessException => "permission denied",
                _ => e.GetType().Name,
            };
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"cannot read the token file {_file}: {why}"));
        }
        if (text.Length == 0)
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"the token file {_file} is empty"));
        if (text.AsSpan().IndexOfAny('\r', '\n') >= 0)
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"the token file {_file} holds more than one line; it must hold the token alone"));
        return text;
    }
}
