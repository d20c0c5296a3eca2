using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Ownership;
using Tiered.Broker.Topics;
using Tiered.Ledger;
using Tiered.Metadata;
using Tiered.Offloader;

namespace Tiered.Broker;

/// <summary>
/// The life of a broker in its host. Before the server listens: the ledger client, the object
/// stores and the topic registry are created (topics load on first use). Once it listens: the
/// broker records itself at <c>/brokers/{id}</c> and is ready. On stop: not ready, topics
/// closed (their producers and consumers told) before the server stops; the ledger client after.
/// </summary>
public sealed class BrokerHost(IOptions<BrokerOptions> options, ILoggerFactory loggerFactory, IServiceProvider services) : IHostedLifecycleService
{
    private readonly BrokerOptions _options = options.Value;
    private LedgerClient? _ledgers;
    private TopicRegistry? _topics;
    private TopicAdmin? _admin;
    private EphemeralRecord? _registration;

    public BrokerOptions Options => _options;

    public TopicRegistry Topics => _topics ?? throw NotStarted();

    /// <summary>Topic and subscription administration, for the admin REST API.</summary>
    public ITopicAdmin Admin => _admin ?? throw NotStarted();

    /// <summary>The metadata service the broker keeps its state in.</summary>
    public IMetadataStore Metadata => services.GetRequiredService<IMetadataStore>();

    /// <summary>The ledger client, which also asks bookies for their reports (disk use).</summary>
    public IBookieInfoReader Bookies => _ledgers ?? throw NotStarted();

    /// <summary>Whether the broker serves requests: registered and not stopping.</summary>
    public bool IsReady { get; private set; }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var metadata = Metadata;
        var tieredStorage = _options.TieredStorage is { } tiered ? new TieredStorage(tiered, loggerFactory, services.GetRequiredService<Offloader.Instrumentation>()) : null;
        _ledgers = new LedgerClient(metadata, new LedgerClientOptions
        {
            LoggerFactory = loggerFactory,
            LocalBookies = services.GetService<LocalBookies>()?.Invokers,
            Tls = services.GetService<Tiered.Proto.Tls.TlsTrust>(),
            Token = services.GetService<Tiered.Proto.Auth.CallToken>(),
        },
            services.GetRequiredService<Ledger.Instrumentation>());
        _topics = new TopicRegistry(_ledgers, services.GetRequiredService<PolicyStore>(), _options, loggerFactory, services.GetRequiredService<IOwnershipGate>(),
            services.GetRequiredService<Instrumentation>(), services.GetRequiredService<ManagedLedgers.Instrumentation>(), tieredStorage,
            services.GetRequiredService<TimeProvider>(), services.GetService<Replication.IReplicatorFactory>());
        _admin = new TopicAdmin(_topics);
        return Task.CompletedTask;
    }

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var registration = new BrokerRegistration(_options.BrokerId, _options.ResolvedAdvertisedUrl, _options.AdvertisedHttpUrl, _options.ClusterName,
            BrokerRegistration.CurrentVersion, DateTimeOffset.UtcNow);
        _registration = await EphemeralRecord.StartAsync(Metadata, MetadataPaths.Broker(_options.BrokerId), registration.ToJson(), _options.SessionTtl,
            loggerFactory.CreateLogger<BrokerHost>(), cancellationToken).ConfigureAwait(false);
        IsReady = true;
        BrokerLog.Started(loggerFactory.CreateLogger<BrokerHost>(), _options.ResolvedAdvertisedUrl, _options.AdvertisedHttpUrl);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        IsReady = false;
        if (Interlocked.Exchange(ref _registration, null) is { } registration)
            await registration.DisposeAsync().ConfigureAwait(false);
        if (_topics is not null)
            await _topics.DisposeAsync().ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _ledgers, null) is { } ledgers)
            await ledgers.DisposeAsync().ConfigureAwait(false);
        _topics?.TieredStorage?.Dispose();
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static InvalidOperationException NotStarted() => new("The broker is used before the host started it.");
}
