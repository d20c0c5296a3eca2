using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Grpc.Core;
using Grpc.Net.Client;
using Tiered.Proto.Auth;
using Tiered.Proto.Tls;

namespace Tiered.Replication;

/// <summary>
/// One gRPC channel per remote broker URL, and one HTTP client for remote admin APIs, shared by the replicators of a
/// broker. https:// URLs are verified against <paramref name="tls"/> (the broker's <c>--tls-trust-certs-file</c>), or
/// the system's roots without it. With a replication token file (<c>--replication-token-file</c>), every call and
/// request carries that token, read again when the file changes so that a rotated token is picked up:
/// the remote cluster, if it checks tokens, must let its role produce there (a super-user of the remote, or one
/// granted <c>produce</c>).
/// </summary>
public sealed class ReplicationChannels : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly CallToken? _token;
    private readonly TlsTrust? _tls;

    public ReplicationChannels(string? tokenFile = null, TlsTrust? tls = null)
    {
        (_token, _tls) = (tokenFile is null ? null : CallToken.FromFile(tokenFile), tls);
        Admin = new HttpClient(new TokenHandler(_token) { InnerHandler = new SocketsHttpHandler { SslOptions = tls?.ClientOptions() ?? new() } })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>For the remote clusters' admin APIs (<see cref="RemotePartitions"/>); each request at most 30 s, like a lookup.</summary>
    public HttpClient Admin { get; }

    /// <summary>The calls to the broker at <paramref name="url"/>, with the replication token when there is one.</summary>
    public CallInvoker Invoker(string url)
    {
        var invoker = _channels.GetOrAdd(url.Contains("://", StringComparison.Ordinal) ? url : $"http://{url}", u => GrpcChannel.ForAddress(u, new GrpcChannelOptions
        {
            MaxSendMessageSize = 16 * 1024 * 1024,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, SslOptions = _tls?.ClientOptions() ?? new() },
        })).CreateCallInvoker();
        return _token?.Intercept(invoker) ?? invoker;
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
            channel.Dispose();
        _channels.Clear();
        Admin.Dispose();
    }

    private sealed class TokenHandler(CallToken? token) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (token is not null)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Current());
            return base.SendAsync(request, cancellationToken);
        }
    }
}
