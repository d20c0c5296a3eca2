using Grpc.Net.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie;
using Tiered.Broker;
using Tiered.Broker.Metadata;
using Tiered.ManagedLedgers;
using Tiered.Metadata;
using Tiered.V1;

namespace Tiered.Testing;

/// <summary>
/// A real metadata service, one bookie and a broker in the test process, on free loopback
/// ports, with the standalone defaults (tenant public, namespace public/default). The broker can
/// be restarted on the same storage to check what survives.
/// </summary>
public sealed class LocalBroker : IAsyncDisposable
{
    private readonly LocalMetadata _metadata;
    private readonly BookieServer _bookie;
    private BrokerOptions _options;
    private bool _stopped;
    private readonly Action<IHostApplicationBuilder>? _roles;
    private GrpcChannel? _channel;

    private LocalBroker(LocalMetadata metadata, BookieServer bookie, BrokerOptions options, Action<IHostApplicationBuilder>? roles, BrokerServer broker)
        => (_metadata, _bookie, _options, _roles, Server) = (metadata, bookie, options, roles, broker);

    public BrokerServer Server { get; private set; }

    public IMetadataStore Metadata => _metadata.Store;

    public string Url => $"http://{_options.GrpcListen}";

    public string AdminUrl => $"http://{_options.HttpListen}";

    /// <summary>Starts everything; <paramref name="roles"/> adds to the broker's host (the admin API: <c>b => b.AddTieredAdminApi()</c>).</summary>
    public static async Task<LocalBroker> StartAsync(Func<BrokerOptions, BrokerOptions>? configure = null, Action<IHostApplicationBuilder>? roles = null)
    {
        var metadata = await LocalMetadata.StartAsync();
        var bookie = await BookieServer.StartAsync(new BookieOptions
        {
            Listen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            DataDir = Path.Combine(metadata.Root, "bookie"),
            Metadata = [metadata.ClientAddress],
            AutoRecovery = false,
        }, NullLoggerFactory.Instance, metadata.Store);
        var options = new BrokerOptions
        {
            GrpcListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            HttpListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            ManagedLedger = new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1 },
        };
        options = configure?.Invoke(options) ?? options;
        await ClusterDefaults.CreateAsync(metadata.Store, options.ClusterName, options.AdvertisedHttpUrl, options.ResolvedAdvertisedUrl, CancellationToken.None, options.DefaultBundles);
        var broker = await BrokerServer.StartAsync(options, metadata.Store, NullLoggerFactory.Instance, roles);
        return new LocalBroker(metadata, bookie, options, roles, broker);
    }

    /// <summary>A gRPC client of the broker's Messaging service (one channel, reused).</summary>
    public Messaging.MessagingClient Client()
    {
        _channel ??= GrpcChannel.ForAddress(Url);
        return new Messaging.MessagingClient(_channel);
    }

    /// <summary>Stops the broker cleanly and starts a new one on the same storage and ports.</summary>
    public async Task RestartAsync()
    {
        _channel?.Dispose();
        _channel = null;
        await Server.DisposeAsync();
        Server = await BrokerServer.StartAsync(_options, _metadata.Store, NullLoggerFactory.Instance, _roles);
    }

    /// <summary>Stops the broker cleanly; its metadata service and bookie go on. <see cref="StartBrokerAsync"/> starts it again.</summary>
    public async Task StopBrokerAsync()
    {
        _channel?.Dispose();
        _channel = null;
        _stopped = true;
        await Server.DisposeAsync();
    }

    /// <summary>
    /// Starts the stopped broker again on the same storage, with <paramref name="change"/> applied to its options
    /// (another gRPC port, say, which clients that knew only the old one cannot find).
    /// </summary>
    public async Task StartBrokerAsync(Func<BrokerOptions, BrokerOptions>? change = null)
    {
        if (!_stopped)
            throw new InvalidOperationException("The broker is running: StopBrokerAsync first.");
        _options = change?.Invoke(_options) ?? _options;
        Server = await BrokerServer.StartAsync(_options, _metadata.Store, NullLoggerFactory.Instance, _roles);
        _stopped = false;
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (!_stopped)
            await Server.DisposeAsync();
        await _bookie.DisposeAsync();
        await _metadata.DisposeAsync();
    }
}
