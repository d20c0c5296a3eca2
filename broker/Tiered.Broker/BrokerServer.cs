using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Ownership;
using Tiered.Broker.Service;
using Tiered.Broker.Topics;
using Tiered.Ledger;
using Tiered.Metadata;
using Tiered.Offloader;

namespace Tiered.Broker;

/// <summary>
/// A running broker: the tiered.v1.Messaging gRPC service (with server reflection) on
/// <see cref="BrokerOptions.GrpcListen"/>, and on <see cref="BrokerOptions.HttpListen"/> whatever
/// the host maps there (the admin REST API), both served by one Kestrel server.
/// </summary>
public sealed class BrokerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LedgerClient _ledgers;

    private BrokerServer(WebApplication app, LedgerClient ledgers, TopicRegistry topics, TopicAdmin admin)
        => (_app, _ledgers, Topics, Admin) = (app, ledgers, topics, admin);

    public TopicRegistry Topics { get; }

    /// <summary>Topic and subscription administration, for the admin REST API.</summary>
    public ITopicAdmin Admin { get; }

    /// <summary>Whether the broker serves requests (false once stopping).</summary>
    public bool IsReady { get; private set; }

    /// <summary>The metadata service the broker keeps its state in.</summary>
    public IMetadataStore Metadata => Topics.Policies.Metadata;

    /// <summary>
    /// Starts a broker on <paramref name="metadata"/> (used, not owned). <paramref name="http"/>
    /// adds services and maps more endpoints (the admin API) before the server starts.
    /// <paramref name="ownership"/> decides which topics this broker serves (null: all of them).
    /// </summary>
    public static async Task<BrokerServer> StartAsync(BrokerOptions options, IMetadataStore metadata, ILoggerFactory loggerFactory,
        BrokerHttpExtension? http = null, CancellationToken cancellationToken = default, IOwnershipGate? ownership = null)
    {
        options.Validate();
        var tieredStorage = options.TieredStorage is { } tiered ? new TieredStorage(tiered, loggerFactory) : null;
        options = options with { ManagedLedger = options.ManagedLedger with { TieredStorage = tieredStorage } };
        var ledgers = new LedgerClient(metadata, new LedgerClientOptions { LoggerFactory = loggerFactory, LocalBookies = options.LocalBookies });
        var topics = new TopicRegistry(ledgers, new PolicyStore(metadata), options, loggerFactory, ownership);
        WebApplication? app = null;
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Services.AddSingleton(loggerFactory);
            builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            builder.Services.AddSingleton(topics);
            // The admin API asks bookies for their disk use over the ledger client's connections.
            builder.Services.AddSingleton<IBookieInfoReader>(ledgers);
            builder.Services.AddSingleton<MessagingService>();
            var maxReceiveMessageSize = options.MaxMessageBytes + 64 * 1024;
            builder.Services.AddGrpc(o =>
            {
                o.MaxReceiveMessageSize = maxReceiveMessageSize;
                o.MaxSendMessageSize = null;
                o.Interceptors.Add<BrokerErrorInterceptor>();
            });
            builder.Services.AddGrpcReflection();
            http?.AddServices(builder.Services, options);
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.Listen(HostPort.Parse(options.GrpcListen, "--grpc-listen"), l => l.Protocols = HttpProtocols.Http2);
                k.Listen(HostPort.Parse(options.HttpListen, "--http-listen"), l => l.Protocols = HttpProtocols.Http1);
            });
            app = builder.Build();
            app.UseMiddleware<OversizeMessageGuard>((long)maxReceiveMessageSize);
            app.MapGrpcService<MessagingService>();
            app.MapGrpcReflectionService();
            var server = new BrokerServer(app, ledgers, topics, new TopicAdmin(topics));
            http?.Map(app, server);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            server.IsReady = true;
            BrokerLog.Started(loggerFactory.CreateLogger<BrokerServer>(), options.ResolvedAdvertisedUrl, $"http://{options.HttpListen}");
            return server;
        }
        catch
        {
            if (app is not null)
                await app.DisposeAsync().ConfigureAwait(false);
            await topics.DisposeAsync().ConfigureAwait(false);
            await ledgers.DisposeAsync().ConfigureAwait(false);
            tieredStorage?.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        IsReady = false;
        await Topics.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _ledgers.DisposeAsync().ConfigureAwait(false);
        Topics.TieredStorage?.Dispose();
    }
}

/// <summary>What a host adds to a broker's HTTP endpoint (the admin API): services first, then endpoints.</summary>
public sealed record BrokerHttpExtension(Action<IServiceCollection, BrokerOptions> AddServices, Action<WebApplication, BrokerServer> Map);
