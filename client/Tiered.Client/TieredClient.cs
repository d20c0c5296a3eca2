using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.V1;
using Tiered.Proto.Auth;
using Tiered.Proto.Tls;

namespace Tiered.Client;

/// <summary>
/// The entry point of applications: looks topics up through the service URL, then produces to and consumes
/// from the broker that serves each topic. One gRPC channel (HTTP/2 connection pool) per broker address is
/// shared by every producer and consumer of the client. Thread-safe; dispose it last, after its producers and consumers
/// (disposing it closes those still open, flushing producers).
/// </summary>
public sealed partial class TieredClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<IAsyncDisposable, byte> _open = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly IReadOnlyList<string> _serviceHosts;
    private readonly CallToken? _token;
    private readonly ClientTls? _tls;
    private int _disposeStarted;

    /// <summary>The service URL host that answered the last lookup: the next lookup asks it first.</summary>
    private int _serviceHost;

    public TieredClient(string serviceUrl)
        : this(new TieredClientOptions { ServiceUrl = serviceUrl })
    {
    }

    public TieredClient(TieredClientOptions? options = null)
    {
        Options = options ?? new TieredClientOptions();
        Options.Validate();
        _serviceHosts = ServiceUrls.Parse(Options.ServiceUrl);
        _token = ClientToken.From(Options);
        _tls = ClientTls.Create(Options.TlsTrustCertsFile, Options.TlsCertificateFile, Options.TlsKeyFile);
        LoggerFactory = Options.LoggerFactory ?? NullLoggerFactory.Instance;
        Logger = LoggerFactory.CreateLogger("Tiered.Client");
    }

    public TieredClientOptions Options { get; }

    /// <summary>The brokers the service URL names (one URL each), which lookups ask in turn.</summary>
    public IReadOnlyList<string> ServiceHosts => _serviceHosts;

    internal ILoggerFactory LoggerFactory { get; }

    internal ILogger Logger { get; }

    /// <summary>The source of reconnection jitter (<see cref="Sessions.Backoff"/>); tests give a predictable one.</summary>
    internal Random Jitter { get; init; } = Random.Shared;

    /// <summary>Cancelled when the client is disposed; every background loop of the client stops on it.</summary>
    internal CancellationToken DisposedToken => _disposed.Token;

    /// <summary>
    /// Which broker serves <paramref name="topic"/> and how many partitions it has. When the service URL names several
    /// hosts and the one asked cannot answer, the next one is asked at once; this fails only when every host failed
    /// (the message names each with its error). Producers and consumers then retry after a backoff; this does not.
    /// </summary>
    public async Task<LookupResponse> LookupAsync(string topic, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        try
        {
            return await LookupCoreAsync(topic, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw TieredClientException.From(e, $"Lookup of {topic} at {Options.ServiceUrl} failed");
        }
        catch (ServiceHostsFailedException e)
        {
            throw new TieredClientException(e.Message, e.Last.StatusCode, e.Last);
        }
    }

    /// <summary>The id of the last message stored in a topic or partition; null when it holds none.</summary>
    public async Task<MessageId?> GetLastMessageIdAsync(string topic, CancellationToken cancellationToken = default)
    {
        var id = await GetLastEntryAsync(topic, cancellationToken).ConfigureAwait(false);
        return id is null ? null : MessageId.FromProto(id);
    }

    /// <summary>
    /// Moves a subscription so that the next message delivered is <paramref name="messageId"/>. For a
    /// partitioned topic the id's partition is moved.
    /// </summary>
    public async Task SeekAsync(string topic, string subscription, MessageId messageId, CancellationToken cancellationToken = default)
    {
        var lookup = await LookupAsync(topic, cancellationToken).ConfigureAwait(false);
        var target = NameOf(lookup, topic);
        if (lookup.Partitions > 0)
        {
            if (messageId.Partition < 0 || messageId.Partition >= lookup.Partitions)
                throw new ArgumentException($"{topic} has {lookup.Partitions} partitions; message id {messageId} names none of them.", nameof(messageId));
            target = PartitionName(target, messageId.Partition);
        }
        await SeekOneAsync(target, new SeekRequest { Topic = target, Subscription = subscription, MessageId = messageId.ToProto() }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves a subscription (every partition of a partitioned topic) to the first message published at or after <paramref name="publishTime"/>.</summary>
    public async Task SeekAsync(string topic, string subscription, DateTimeOffset publishTime, CancellationToken cancellationToken = default)
    {
        var lookup = await LookupAsync(topic, cancellationToken).ConfigureAwait(false);
        var name = NameOf(lookup, topic);
        var ms = publishTime.ToUnixTimeMilliseconds();
        if (lookup.Partitions == 0)
        {
            await SeekOneAsync(name, new SeekRequest { Topic = name, Subscription = subscription, PublishTimeMs = ms }, cancellationToken).ConfigureAwait(false);
            return;
        }
        var seeks = new Task[lookup.Partitions];
        for (var i = 0; i < seeks.Length; i++)
        {
            var partition = PartitionName(name, i);
            seeks[i] = SeekOneAsync(partition, new SeekRequest { Topic = partition, Subscription = subscription, PublishTimeMs = ms }, cancellationToken);
        }
        await Task.WhenAll(seeks).ConfigureAwait(false);
    }

    private async Task SeekOneAsync(string topic, SeekRequest request, CancellationToken cancellationToken)
    {
        var lookup = await LookupAsync(topic, cancellationToken).ConfigureAwait(false);
        try
        {
            await MessagingAt(lookup.BrokerUrl).SeekAsync(request, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw TieredClientException.From(e, $"Seek({topic}, {request.Subscription}) failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
            return;
        foreach (var open in _open.Keys)
        {
            try
            {
                await open.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is TieredClientException or OperationCanceledException or ObjectDisposedException)
            {
                // Closing: what could not be flushed has already failed its sends.
            }
        }
        await _disposed.CancelAsync().ConfigureAwait(false);
        foreach (var channel in _channels.Values)
            channel.Dispose();
        _channels.Clear();
        _disposed.Dispose();
    }

    /// <summary>
    /// Looks <paramref name="topic"/> up at the service URL, following a broker that names another one in the
    /// <see cref="Sessions.OwnerRedirect.TrailerName"/> trailer (at most <see cref="Sessions.OwnerRedirect.MaxRedirects"/>
    /// times). The host that answered last is asked first; when a host fails in a way a retry may cure (refused or
    /// reset connection, UNAVAILABLE without an owner, a broker stopping, a timeout), the next host is asked at once,
    /// round robin, so that one dead broker in the list costs a connection attempt, not a backoff. When every host
    /// failed: a single host's failure is thrown as it is, several as <see cref="ServiceHostsFailedException"/> (both
    /// retriable). Permanent refusals are thrown as <see cref="TieredClientException"/> at once.
    /// <paramref name="unreachableBrokerUrl"/>: the owner the caller could not reach, whose replacement the broker
    /// waits for before it answers (<see cref="LookupRequest.UnreachableBrokerUrl"/>).
    /// </summary>
    internal async Task<LookupResponse> LookupCoreAsync(string topic, CancellationToken cancellationToken, string? unreachableBrokerUrl = null)
    {
        var hosts = _serviceHosts;
        var start = Volatile.Read(ref _serviceHost);
        var redirects = 0;
        List<string>? failures = null;
        RpcException? last = null;
        for (var attempt = 0; attempt < hosts.Count; attempt++)
        {
            var index = (start + attempt) % hosts.Count;
            var host = hosts[index];
            var url = host;
            while (true)
            {
                try
                {
                    var response = await MessagingAt(url).LookupAsync(
                        new LookupRequest { Topic = topic, UnreachableBrokerUrl = unreachableBrokerUrl ?? "" },
                        deadline: Deadline(),
                        cancellationToken: cancellationToken).ConfigureAwait(false);
                    Normalize(response, url);
                    if (string.IsNullOrEmpty(response.Topic))
                        response.Topic = topic;
                    Volatile.Write(ref _serviceHost, index);
                    return response;
                }
                catch (RpcException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (RpcException e) when (Sessions.OwnerRedirect.OwnerOf(e) is { } owner)
                {
                    if (redirects >= Sessions.OwnerRedirect.MaxRedirects)
                        throw Sessions.OwnerRedirect.TooMany("The lookup", topic, owner);
                    redirects++;
                    url = owner;
                }
                catch (RpcException e) when (!Retry.IsRetriable(e, everOpened: false))
                {
                    throw TieredClientException.From(e, $"Lookup of {topic} at {url} failed");
                }
                catch (RpcException e) when (hosts.Count > 1)
                {
                    last = e;
                    var failure = $"{host}{(url == host ? "" : $" (redirected to {url})")}: {Detail(e)}";
                    (failures ??= []).Add(failure);
                    if (attempt + 1 < hosts.Count)
                        Logger.ServiceHostFailed(topic, failure, hosts[(index + 1) % hosts.Count]);
                    break;
                }
            }
        }
        throw new ServiceHostsFailedException(
            $"Lookup of {topic} failed at each of the {hosts.Count} service URL hosts: {string.Join("; ", failures!)}. "
            + "Check that at least one of them is a running broker's gRPC address.",
            last!);
    }

    /// <summary>The broker's words, or gRPC's and the socket error under them ("Connection refused"), and the status.</summary>
    private static string Detail(RpcException e)
    {
        var detail = string.IsNullOrEmpty(e.Status.Detail) ? e.StatusCode.ToString() : e.Status.Detail;
        if (e.Status.DebugException is { Message: { Length: > 0 } cause } && !detail.Contains(cause, StringComparison.Ordinal))
            detail = $"{detail} {cause}";
        return $"{detail} ({e.StatusCode})";
    }

    /// <summary>
    /// Makes <see cref="LookupResponse.BrokerUrl"/> the URL to dial, whichever form the broker answered in:
    /// broker_address (host:port) with broker_tls, or only broker_url (brokers older than broker_address; a bare
    /// host:port is taken as http://), or neither (the broker asked). Fills broker_address when it was missing.
    /// </summary>
    internal static void Normalize(LookupResponse response, string serviceUrl)
    {
        if (!string.IsNullOrEmpty(response.BrokerAddress))
            response.BrokerUrl = (response.BrokerTls ? "https://" : "http://") + response.BrokerAddress;
        else if (string.IsNullOrEmpty(response.BrokerUrl))
            response.BrokerUrl = serviceUrl;
        else if (!response.BrokerUrl.Contains("://", StringComparison.Ordinal))
            response.BrokerUrl = "http://" + response.BrokerUrl;
        if (string.IsNullOrEmpty(response.BrokerAddress) && Uri.TryCreate(response.BrokerUrl, UriKind.Absolute, out var url))
        {
            response.BrokerAddress = $"{url.Host}:{url.Port}";
            response.BrokerTls = url.Scheme == Uri.UriSchemeHttps;
        }
    }

    /// <summary>A client of the broker at <paramref name="url"/> whose every call carries the token, if there is one (<see cref="ClientToken"/>).</summary>
    internal Messaging.MessagingClient MessagingAt(string url)
    {
        var channel = ChannelAt(url);
        return _token is null ? new(channel) : new(_token.Intercept(channel.CreateCallInvoker()));
    }

    /// <summary>The call invoker <see cref="MessagingAt"/> uses, for calls made with this client's own marshallers (<see cref="Consumers.ConsumeFrame"/>).</summary>
    internal CallInvoker CallInvokerAt(string url)
    {
        var invoker = ChannelAt(url).CreateCallInvoker();
        return _token is null ? invoker : _token.Intercept(invoker);
    }

    internal DateTime Deadline() => Options.TimeProvider.GetUtcNow().UtcDateTime + Options.OperationTimeout;

    internal void Track(IAsyncDisposable resource)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposeStarted) != 0, this);
        _open.TryAdd(resource, 0);
    }

    internal void Untrack(IAsyncDisposable resource) => _open.TryRemove(resource, out _);

    /// <summary>How many gRPC channels (one per broker address) the client holds.</summary>
    internal int ChannelCount => _channels.Count;

    internal static string PartitionName(string topic, int partition) => $"{topic}-partition-{partition}";

    private static string NameOf(LookupResponse lookup, string topic) => string.IsNullOrEmpty(lookup.Topic) ? topic : lookup.Topic;

    private GrpcChannel ChannelAt(string url)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (_channels.TryGetValue(url, out var channel))
            return channel;
        var created = GrpcChannel.ForAddress(url, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = Options.KeepAliveInterval,
                KeepAlivePingTimeout = Options.KeepAliveInterval < TimeSpan.FromSeconds(10) ? Options.KeepAliveInterval : TimeSpan.FromSeconds(10),
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                ConnectTimeout = Options.OperationTimeout,
                // Only https:// channels use it; null: the system's roots and no client certificate.
                SslOptions = _tls?.ClientOptions() ?? new(),
            },
            LoggerFactory = Options.LoggerFactory,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
        if (_channels.TryAdd(url, created))
            return created;
        created.Dispose();
        return _channels[url];
    }
}
