using System.Collections.Concurrent;
using BookieRpc = Tiered.Bookie.V1.Bookie;
using Grpc.Core;
using Grpc.Net.Client;
using Tiered.Hosting;

namespace Tiered.Ledger;

/// <summary>
/// One gRPC channel per bookie address (HTTP/2; over TLS when <see cref="LedgerClientOptions.Tls"/> is set, each call with
/// <see cref="LedgerClientOptions.Token"/> when there is one), shared by every writer and reader of a
/// <see cref="LedgerClient"/>. Bookies are named by id; <see cref="BookieAddressBook"/> says where each is
/// reached now, and a bookie that moved gets a channel to its new address at the next call. Several HTTP/2
/// connections are allowed per bookie so that many add streams are not capped by one connection's
/// concurrent-stream limit. Bookies in <see cref="LedgerClientOptions.LocalBookies"/> are called in-process instead.
/// </summary>
internal sealed class BookieClientPool(LedgerClientOptions options, BookieAddressBook addresses) : IDisposable
{
    private const int MaxMessageBytes = 8 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Lazy<(GrpcChannel? Channel, BookieRpc.BookieClient Client)>> _bookies = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    public BookieRpc.BookieClient Get(string bookieId)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (options.LocalBookies?.GetValueOrDefault(bookieId) is { } local)
            return _bookies.GetOrAdd("local:" + bookieId, _ => new(() => (null, new BookieRpc.BookieClient(local)))).Value.Client;
        var address = addresses.AddressOf(bookieId);
        if (_bookies.TryGetValue(address, out var known))
            return known.Value.Client;
        Uri url;
        try
        {
            url = HostPort.Parse(address, "bookie address").ToUri(tls: options.Tls is not null);
        }
        catch (ArgumentException)
        {
            // Not cached: the bookie's registration may appear any moment.
            throw new RpcException(new Status(StatusCode.Unavailable, $"Bookie {bookieId} is not registered and its id is no HOST:PORT, so where to reach it is unknown; start it (it registers its address)."));
        }
        return _bookies.GetOrAdd(address, _ => new(() => Connect(url))).Value.Client;
    }

    private (GrpcChannel?, BookieRpc.BookieClient) Connect(Uri url)
    {
        var channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = options.ConnectTimeout,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                SslOptions = options.Tls?.ClientOptions() ?? new(),
            },
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
        });
        return (channel, options.Token is { } token ? new BookieRpc.BookieClient(token.Intercept(channel.CreateCallInvoker())) : new BookieRpc.BookieClient(channel));
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
