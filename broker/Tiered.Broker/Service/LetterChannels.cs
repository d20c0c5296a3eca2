using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Tiered.Proto.Auth;
using Tiered.Proto.Tls;

namespace Tiered.Broker.Service;

/// <summary>
/// One gRPC channel per other broker of the cluster, for the dead-letter and retry topics those brokers own
/// (docs/messaging.md); disposed with the broker. https:// URLs are verified against the broker's
/// <c>--tls-trust-certs-file</c> (<paramref name="tls"/>), or the system's roots without it. Every call carries the
/// component token (<c>--component-token-file</c>) when the broker has one: its role is a super-user, so it may
/// produce on any topic. The consumer's own role was checked for produce on the letter topics when it subscribed.
/// </summary>
public sealed class LetterChannels(TlsTrust? tls = null, CallToken? token = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    /// <summary>The calls to the broker at <paramref name="url"/> (its advertised gRPC URL).</summary>
    public CallInvoker Invoker(string url)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var invoker = _channels.GetOrAdd(url.Contains("://", StringComparison.Ordinal) ? url : $"http://{url}", u => GrpcChannel.ForAddress(u, new GrpcChannelOptions
        {
            MaxSendMessageSize = null,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, SslOptions = tls?.ClientOptions() ?? new() },
        })).CreateCallInvoker();
        return token?.Intercept(invoker) ?? invoker;
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var channel in _channels.Values)
            channel.Dispose();
        _channels.Clear();
    }
}
