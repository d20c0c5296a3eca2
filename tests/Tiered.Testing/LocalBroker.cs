using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Bookie;
using Tiered.Broker;
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
    private readonly BrokerOptions _options;
    private readonly BrokerHttpExtension? _http;
    private GrpcChannel? _channel;

    private LocalBroker(LocalMetadata metadata, BookieServer bookie, BrokerOptions options, BrokerHttpExtension? http, BrokerServer broker)
        => (_metadata, _bookie, _options, _http, Server) = (metadata, bookie, options, http, broker);

    public BrokerServer Server { get; private set; }

    public IMetadataStore Metadata => _metadata.Store;

    public string Url => $"http://{_options.GrpcListen}";

    public string AdminUrl => $"http://{_options.HttpListen}";

    /// <summary>Starts everything; <paramref name="http"/> adds endpoints to the broker's HTTP port (the admin API).</summary>
    public static async Task<LocalBroker> StartAsync(Func<BrokerOptions, BrokerOptions>? configure = null, BrokerHttpExtension? http = null)
    {
        var metadata = await LocalMetadata.StartAsync();
        var bookie = await BookieServer.StartAsync(new BookieOptions
        {
            Listen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            DataDir = Path.Combine(metadata.Root, "bookie"),
            Metadata = [metadata.ClientAddress],
            AutoRecovery = false,
        }, NullLoggerFactory.Instance, metadata.Store);
        await metadata.Store.PutAsync("/admin/tenants/public", """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray());
        await metadata.Store.PutAsync("/admin/policies/public/default", """{"replication_clusters":["standalone"]}"""u8.ToArray());
        var options = new BrokerOptions
        {
            GrpcListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            HttpListen = $"127.0.0.1:{LocalMetadata.FreePort()}",
            ManagedLedger = new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1 },
        };
        options = configure?.Invoke(options) ?? options;
        var broker = await BrokerServer.StartAsync(options, metadata.Store, NullLoggerFactory.Instance, http);
        return new LocalBroker(metadata, bookie, options, http, broker);
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
        Server = await BrokerServer.StartAsync(_options, _metadata.Store, NullLoggerFactory.Instance, _http);
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        await Server.DisposeAsync();
        await _bookie.DisposeAsync();
        await _metadata.DisposeAsync();
    }
}
