using System.Collections.Concurrent;
using Grpc.Net.Client;
using Tiered.Proto.Tls;

namespace Tiered.Replication;

/// <summary>
/// One gRPC channel per remote broker URL, and one HTTP client for remote admin APIs, shared by the replicators of a
/// broker. https:// URLs are verified against <paramref name="tls"/> (the broker's <c>--tls-trust-certs-file</c>), or
/// the system's roots without it.
/// </summary>
public sealed class ReplicationChannels(TlsTrust? tls = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);

    /// <summary>For the remote clusters' admin APIs (<see cref="RemotePartitions"/>); each request at most 30 s, like a lookup.</summary>
    public HttpClient Admin { get; } = new(new SocketsHttpHandler { SslOptions = tls?.ClientOptions() ?? new() }) { Timeout = TimeSpan.FromSeconds(30) };

    public GrpcChannel Get(string url)
        => _channels.GetOrAdd(url.Contains("://", StringComparison.Ordinal) ? url : $"http://{url}", u => GrpcChannel.ForAddress(u, new GrpcChannelOptions
        {
            MaxSendMessageSize = 16 * 1024 * 1024,
            MaxReceiveMessageSize = 16 * 1024 * 1024,
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, SslOptions = tls?.ClientOptions() ?? new() },
        }));

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
            channel.Dispose();
        _channels.Clear();
        Admin.Dispose();
    }
}
