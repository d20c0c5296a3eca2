using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Ledger;

/// <summary>
/// One gRPC channel per bookie (id = HOST:PORT, plain HTTP/2), shared by every writer and reader
/// of a <see cref="LedgerClient"/>. Several HTTP/2 connections are allowed per bookie so that
/// many add streams are not capped by one connection's concurrent-stream limit. Bookies in
/// <see cref="LedgerClientOptions.LocalBookies"/> are called in-process instead.
/// </summary>
internal sealed class BookieClientPool(LedgerClientOptions options) : IDisposable
{
    private const int MaxMessageBytes = 8 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Lazy<(GrpcChannel? Channel, BookieRpc.BookieClient Client)>> _bookies = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    public BookieRpc.BookieClient Get(string bookieId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _bookies.GetOrAdd(bookieId, id => new(() => Connect(id))).Value.Client;
    }

    private (GrpcChannel?, BookieRpc.BookieClient) Connect(string bookieId)
    {
        if (options.LocalBookies?.GetValueOrDefault(bookieId) is { } local)
            return (null, new BookieRpc.BookieClient(local));
        var channel = GrpcChannel.ForAddress($"http://{bookieId}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = options.ConnectTimeout,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            },
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
        });
        return (channel, new BookieRpc.BookieClient(channel));
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var bookie in _bookies.Values)
        {
            if (bookie.IsValueCreated)
                bookie.Value.Channel?.Dispose();
        }
        _bookies.Clear();
    }
}
