using System.Net.Http;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Tiered.Metadata.V1;
using Tiered.Proto.Auth;
using Tiered.Proto.Tls;

namespace Tiered.Metadata;

/// <summary>
/// The remote <see cref="IMetadataStore"/>: talks gRPC to any node of a metadata cluster and
/// finds the leader by itself (following "not leader" redirects, trying the next address when
/// a node is down). Reads and heartbeats are retried freely. A write is retried only when it
/// certainly was not applied (redirect, refused connection); when a node fails mid-write the
/// caller gets <see cref="MetadataErrorCode.OutcomeUnknown"/>. Watches resume by themselves
/// from the last revision delivered, on whichever node answers.
/// </summary>
public sealed partial class MetadataClient : IMetadataStore
{
    private readonly string[] _addresses;
    private readonly Dictionary<string, V1.Metadata.MetadataClient> _stubs = new(StringComparer.Ordinal);
    private readonly List<GrpcChannel> _channels = [];
    private readonly TimeSpan _operationTimeout;
    private readonly TlsTrust? _tls;
    private readonly CallToken? _token;
    private string _preferred;
    private int _rotation;

    /// <param name="addresses">Client addresses of the metadata nodes, HOST:PORT or http://HOST:PORT.</param>
    /// <param name="operationTimeout">How long one call may spend finding a leader and retrying (default 30 s).</param>
    /// <param name="tls">
    /// The CAs the nodes' certificates must chain to (a role's <c>--tls-trust-certs-file</c>): HOST:PORT addresses are
    /// then dialled with TLS (https://). Without it they are dialled in cleartext, and an https:// address with the
    /// system's trusted roots.
    /// </param>
    /// <param name="token">
    /// The token every call carries (a component's <c>--component-token-file</c>): nodes that check tokens accept only
    /// the cluster's own components, whose roles are their super-users.
    /// </param>
    public MetadataClient(IEnumerable<string> addresses, TimeSpan? operationTimeout = null, TlsTrust? tls = null, CallToken? token = null)
    {
        (_tls, _token) = (tls, token);
        _addresses = [.. addresses.Select(Normalize).Distinct(StringComparer.Ordinal)];
        if (_addresses.Length == 0)
            throw new ArgumentException("Give at least one metadata node address (HOST:PORT).", nameof(addresses));
        _preferred = _addresses[0];
        _operationTimeout = operationTimeout ?? TimeSpan.FromSeconds(30);
    }

    /// <summary>Parses a comma-separated address list such as "127.0.0.1:2181,127.0.0.1:2182".</summary>
    public static MetadataClient FromList(string addresses, TimeSpan? operationTimeout = null) =>
        new(addresses.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), operationTimeout);

    private string Normalize(string address)
    {
        address = address.Trim().TrimEnd('/');
        return address.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || address.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? address
            : (_tls is null ? "http://" : "https://") + address;
    }

    private V1.Metadata.MetadataClient Stub(string address)
    {
        lock (_stubs)
        {
            if (_stubs.TryGetValue(address, out var stub))
                return stub;
            var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                MaxReceiveMessageSize = 256 * 1024 * 1024,
                MaxSendMessageSize = 8 * 1024 * 1024,
                HttpHandler = new SocketsHttpHandler
                {
                    ConnectTimeout = TimeSpan.FromSeconds(2),
                    EnableMultipleHttp2Connections = true,
                    KeepAlivePingDelay = TimeSpan.FromSeconds(10),
                    KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                    SslOptions = _tls?.ClientOptions() ?? new(),
                },
            });
            _channels.Add(channel);
            return _stubs[address] = _token is null ? new(channel) : new(_token.Intercept(channel.CreateCallInvoker()));
        }
    }

    private string NextAddress(string failed)
    {
        lock (_stubs)
        {
            if (_preferred == failed)
                _preferred = _addresses[++_rotation % _addresses.Length];
            return _preferred;
        }
    }

    private void Prefer(string address)
    {
        lock (_stubs)
            _preferred = Normalize(address);
    }

    /// <summary>
    /// Runs one call against the preferred node, following redirects and failing over until
    /// the operation timeout. <paramref name="retryAfterSend"/>: the call may be repeated even
    /// if the failed attempt may have reached the state machine (reads, heartbeats).
    /// </summary>
    private async Task<T> CallAsync<T>(Func<V1.Metadata.MetadataClient, CallOptions, Task<T>> call, bool retryAfterSend, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_operationTimeout);
        var backoff = TimeSpan.FromMilliseconds(20);
        Exception? last = null;
        while (true)
        {
            string address;
            lock (_stubs)
                address = _preferred;
            try
            {
                return await call(Stub(address), new CallOptions(cancellationToken: timeout.Token)).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && timeout.IsCancellationRequested)
            {
                // The caller cancelled, or the operation timeout (handled below) expired.
                cancellationToken.ThrowIfCancellationRequested();
            }
            catch (RpcException e)
            {
                last = e;
                var code = MetadataException.FromWire(e.Trailers.GetValue(MetadataWire.ErrorTrailer));
                switch (code)
                {
                    case MetadataErrorCode.NotLeader:
                        if (e.Trailers.GetValue(MetadataWire.LeaderTrailer) is { Length: > 0 } leader)
                            Prefer(leader);
                        else
                            NextAddress(address);
                        break;
                    case MetadataErrorCode.Unavailable:
                        NextAddress(address);
                        break;
                    case { } other:
                        throw new MetadataException(other, e.Status.Detail, e.Trailers.GetValue(MetadataWire.LeaderTrailer), e);
                    default:
                        NextAddress(address);
                        if (!retryAfterSend && !NeverSent(e))
                            throw new MetadataException(MetadataErrorCode.OutcomeUnknown,
                                $"Metadata node {address} failed during the call ({e.StatusCode}: {e.Status.Detail}); the write may or may not have been applied. Read the key to find out.", inner: e);
                        break;
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // fall through to the timeout below
            }
            if (timeout.IsCancellationRequested)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new MetadataException(MetadataErrorCode.Unavailable,
                    $"No metadata leader answered within {_operationTimeout.TotalSeconds:0.#} s at {string.Join(", ", _addresses)}; check that a majority of the nodes is running. Last error: {last?.Message}", inner: last);
            }
            try
            {
                await Task.Delay(backoff, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 500));
        }
    }

    /// <summary>True when the request certainly did not reach the server (the connection was never made).</summary>
    private static bool NeverSent(RpcException e)
    {
        if (e.StatusCode != StatusCode.Unavailable)
            return false;
        for (var inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }
                || inner is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused or System.Net.Sockets.SocketError.HostUnreachable or System.Net.Sockets.SocketError.NetworkUnreachable })
                return true;
        }
        // Grpc.Net.Client reports a connection that could not be opened this way.
        return e.Status.Detail.StartsWith("Error connecting to subchannel", StringComparison.Ordinal);
    }

    public async ValueTask<KeyValue?> GetAsync(string key, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        KeyPath.Validate(key);
        var request = new GetRequest { Key = key, Stale = consistency == ReadConsistency.Stale };
        var response = await CallAsync((s, o) => s.GetAsync(request, o).ResponseAsync, retryAfterSend: true, cancellationToken).ConfigureAwait(false);
        return response.Found ? response.Kv : null;
    }

    public async ValueTask<KeyValue> PutAsync(string key, ReadOnlyMemory<byte> value, long? expectedVersion = null, long sessionId = 0, CancellationToken cancellationToken = default)
    {
        KeyPath.Validate(key);
        KeyPath.ValidateValue(value.Span);
        var request = new PutRequest { Key = key, Value = ByteString.CopyFrom(value.Span), SessionId = sessionId };
        if (expectedVersion is { } v)
            request.ExpectedVersion = v;
        return (await CallAsync((s, o) => s.PutAsync(request, o).ResponseAsync, retryAfterSend: false, cancellationToken).ConfigureAwait(false)).Kv;
    }

    public async ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        KeyPath.Validate(key);
        var request = new DeleteRequest { Key = key };
        if (expectedVersion is { } v)
            request.ExpectedVersion = v;
        return (await CallAsync((s, o) => s.DeleteAsync(request, o).ResponseAsync, retryAfterSend: false, cancellationToken).ConfigureAwait(false)).Deleted;
    }

    public async ValueTask<IReadOnlyList<string>> ListChildrenAsync(string path, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        KeyPath.ValidateParent(path);
        var request = new ListRequest { Path = path, Stale = consistency == ReadConsistency.Stale };
        return (await CallAsync((s, o) => s.ListAsync(request, o).ResponseAsync, retryAfterSend: true, cancellationToken).ConfigureAwait(false)).Children;
    }

    public async ValueTask<IReadOnlyList<KeyValue>> ListAsync(string prefix, ReadConsistency consistency = ReadConsistency.Linearizable, CancellationToken cancellationToken = default)
    {
        KeyPath.ValidatePrefix(prefix);
        var request = new ListRequest { Path = prefix, Recursive = true, Stale = consistency == ReadConsistency.Stale };
        return (await CallAsync((s, o) => s.ListAsync(request, o).ResponseAsync, retryAfterSend: true, cancellationToken).ConfigureAwait(false)).Kvs;
    }

    public async ValueTask<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken = default)
        => await CallAsync((s, o) => s.TxnAsync(request, o).ResponseAsync, retryAfterSend: false, cancellationToken).ConfigureAwait(false);

    public async ValueTask<long> CreateSessionAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var request = new CreateSessionRequest { TtlMs = (long)ttl.TotalMilliseconds };
        return (await CallAsync((s, o) => s.CreateSessionAsync(request, o).ResponseAsync, retryAfterSend: false, cancellationToken).ConfigureAwait(false)).SessionId;
    }

    public async ValueTask KeepAliveAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        var request = new KeepAliveRequest { SessionId = sessionId };
        await CallAsync((s, o) => s.KeepAliveAsync(request, o).ResponseAsync, retryAfterSend: true, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask CloseSessionAsync(long sessionId, CancellationToken cancellationToken = default)
    {
        var request = new CloseSessionRequest { SessionId = sessionId };
        await CallAsync((s, o) => s.CloseSessionAsync(request, o).ResponseAsync, retryAfterSend: false, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<long> NextIdAsync(string name, int count = 1, CancellationToken cancellationToken = default)
    {
        var request = new NextIdRequest { Name = name, Count = count };
        return (await CallAsync((s, o) => s.NextIdAsync(request, o).ResponseAsync, retryAfterSend: false, cancellationToken).ConfigureAwait(false)).FirstId;
    }

    /// <summary>The contacted node's view of the cluster.</summary>
    public async Task<StatusResponse> StatusAsync(string? address = null, CancellationToken cancellationToken = default)
    {
        if (address is not null)
            return await Stub(Normalize(address)).StatusAsync(new StatusRequest(), cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
        return await CallAsync((s, o) => s.StatusAsync(new StatusRequest(), o).ResponseAsync, retryAfterSend: true, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<WatchEvent> WatchAsync(string prefix, long fromRevision = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        KeyPath.ValidatePrefix(prefix);
        var next = fromRevision;
        var backoff = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            string address;
            lock (_stubs)
                address = _preferred;
            using var call = Stub(address).Watch(new WatchRequest { Prefix = prefix, FromRevision = next }, cancellationToken: cancellationToken);
            var stream = call.ResponseStream;
            var failed = false;
            var delivered = 0;
            while (true)
            {
                WatchEvent e;
                try
                {
                    if (next == 0)
                    {
                        // The server names the revision it started from, so a resumed watch misses nothing.
                        var headers = await call.ResponseHeadersAsync.ConfigureAwait(false);
                        if (long.TryParse(headers.GetValue(MetadataWire.RevisionHeader), out var start))
                            next = start;
                    }
                    if (!await stream.MoveNext(cancellationToken).ConfigureAwait(false))
                        yield break;
                    e = stream.Current;
                }
                catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && IsTransient(ex))
                {
                    failed = true;
                    NextAddress(address);
                    break;
                }
                catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    var code = MetadataException.FromWire(ex.Trailers.GetValue(MetadataWire.ErrorTrailer)) ?? MetadataErrorCode.Unavailable;
                    // A watcher that fell behind (or a node that installed a snapshot) is ended with
                    // "compacted": resume once from the last revision; if that is compacted too, give up.
                    if (code == MetadataErrorCode.Compacted && delivered > 0)
                    {
                        failed = true;
                        break;
                    }
                    throw new MetadataException(code, ex.Status.Detail, inner: ex);
                }
                next = e.Revision;
                delivered++;
                backoff = TimeSpan.FromMilliseconds(20);
                yield return e;
            }
            if (failed)
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, 500));
            }
        }
    }

    private static bool IsTransient(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown
        && MetadataException.FromWire(e.Trailers.GetValue(MetadataWire.ErrorTrailer)) is null or MetadataErrorCode.NotLeader or MetadataErrorCode.Unavailable;

    public ValueTask DisposeAsync()
    {
        lock (_stubs)
        {
            foreach (var channel in _channels)
                channel.Dispose();
            _channels.Clear();
            _stubs.Clear();
        }
        return ValueTask.CompletedTask;
    }
}
