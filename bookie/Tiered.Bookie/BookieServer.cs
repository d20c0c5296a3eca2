using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.Bookie.Server;
using Tiered.Bookie.Storage;
using Tiered.Ledger;
using Tiered.Metadata;
using Tiered.Proto.Streams;

namespace Tiered.Bookie;

/// <summary>
/// A bookie: storage, its gRPC endpoint, its registration in the metadata service, and the
/// disk watch that turns it read-only when the disk is nearly full. What `tiered bookie` runs.
/// </summary>
public sealed partial class BookieServer : IAsyncDisposable
{
    private static readonly TimeSpan DiskCheckInterval = TimeSpan.FromSeconds(2);

    private readonly BookieOptions _options;
    private readonly BookieStorage _storage;
    private readonly BookieState _state;
    private readonly WebApplication _app;
    private readonly InProcessCallInvoker _localInvoker;
    private readonly IMetadataStore _metadata;
    private readonly bool _ownsMetadata;
    private readonly BookieRegistration _registration;
    private readonly AutoRecovery? _autoRecovery;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _diskWatch;
    private readonly Task _journalWatch;
    private volatile bool _journalUnusable;

    private BookieServer(BookieOptions options, BookieStorage storage, BookieState state, WebApplication app, InProcessCallInvoker localInvoker, IMetadataStore metadata, bool ownsMetadata, BookieRegistration registration, AutoRecovery? autoRecovery, ILogger logger)
    {
        (_options, _storage, _state, _app, _localInvoker, _metadata, _ownsMetadata, _registration, _autoRecovery, _logger) = (options, storage, state, app, localInvoker, metadata, ownsMetadata, registration, autoRecovery, logger);
        _diskWatch = Task.Run(WatchDiskAsync);
        _journalWatch = Task.Run(WatchJournalAsync);
    }

    public string BookieId => _options.BookieId;

    /// <summary>
    /// This bookie's service for callers in the same process (a broker in standalone), without
    /// the network: the same instance the gRPC endpoint serves, so the same semantics. Pass it as
    /// <see cref="LedgerClientOptions.LocalBookies"/>.
    /// </summary>
    public CallInvoker LocalInvoker => _localInvoker;

    /// <summary>This bookie's auto-recovery role (null when <see cref="BookieOptions.AutoRecovery"/> is off).</summary>
    public AutoRecovery? AutoRecovery => _autoRecovery;

    /// <summary>Starts a bookie. <paramref name="metadata"/>: an existing store to register in (standalone); default: a client to <see cref="BookieOptions.Metadata"/>.</summary>
    public static Task<BookieServer> StartAsync(BookieOptions options, ILoggerFactory loggerFactory, IMetadataStore? metadata = null, CancellationToken cancellationToken = default)
        => StartAsync(options, loggerFactory, metadata, journalHooks: null, cancellationToken);

    internal static async Task<BookieServer> StartAsync(BookieOptions options, ILoggerFactory loggerFactory, IMetadataStore? metadata, JournalTestHooks? journalHooks, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var logger = loggerFactory.CreateLogger<BookieServer>();
        var listen = HostPort.Parse(options.Listen, "--listen");
        var ownsMetadata = metadata is null;
        metadata ??= new MetadataClient(options.Metadata);
        var storage = await BookieStorage.OpenAsync(options.DataDir, options.JournalDirectory, options.WriteCacheBytes, loggerFactory.CreateLogger<BookieStorage>(), cancellationToken,
            journalPreallocationBytes: options.JournalPreallocationBytes, journalHooks: journalHooks).ConfigureAwait(false);
        var state = new BookieState(options);
        WebApplication? app = null;
        BookieRegistration? registration = null;
        try
        {
            storage.ReadOnly = state.DiskUsage() > options.ReadOnlyAboveDiskUsage;
            var builder = WebApplication.CreateSlimBuilder();
            builder.Services.AddSingleton(loggerFactory);
            // Open streams (adds, watches) must not hold a stop for the host's default 30 s.
            builder.Services.Configure<Microsoft.Extensions.Hosting.HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            // One instance for both the gRPC endpoint and LocalInvoker.
            var service = new BookieService(storage, state);
            var localInvoker = new InProcessCallInvoker(binder => V1.Bookie.BindService(binder, service));
            builder.Services.AddSingleton(service);
            builder.Services.AddGrpc(o =>
            {
                o.MaxReceiveMessageSize = 8 * 1024 * 1024;
                o.MaxSendMessageSize = 8 * 1024 * 1024;
            });
            builder.WebHost.ConfigureKestrel(k => k.Listen(listen, l => l.Protocols = HttpProtocols.Http2));
            app = builder.Build();
            app.MapGrpcService<BookieService>();
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            // Registered last: writers only learn of a bookie that can already serve them.
            registration = await BookieRegistration.StartAsync(metadata, options.BookieId, options.SessionTtl, storage.ReadOnly, logger, cancellationToken).ConfigureAwait(false);
            // Every bookie runs the auto-recovery role; the metadata lock makes one of them active.
            var autoRecovery = options.AutoRecovery
                ? await AutoRecovery.StartAsync(metadata, new LedgerClientOptions
                {
                    LoggerFactory = loggerFactory,
                    LocalBookies = new Dictionary<string, CallInvoker> { [options.BookieId] = localInvoker },
                }, loggerFactory.CreateLogger<AutoRecovery>(), cancellationToken).ConfigureAwait(false)
                : null;
            LogMessages.Started(logger, options.BookieId, storage.LedgerCount, storage.ReadOnly ? "read-only" : "writable");
            return new BookieServer(options, storage, state, app, localInvoker, metadata, ownsMetadata, registration, autoRecovery, logger);
        }
        catch
        {
            if (registration is not null)
                await registration.DisposeAsync().ConfigureAwait(false);
            if (app is not null)
                await app.DisposeAsync().ConfigureAwait(false);
            await storage.DisposeAsync().ConfigureAwait(false);
            if (ownsMetadata)
                await metadata.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task WatchDiskAsync()
    {
        using var timer = new PeriodicTimer(DiskCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var usage = _state.DiskUsage();
                var readOnly = ShouldBeReadOnly(_storage.ReadOnly, usage, _journalUnusable, _options);
                if (readOnly == _storage.ReadOnly)
                    continue;
                _storage.ReadOnly = readOnly;
                LogMessages.StateChanged(_logger, BookieId, readOnly ? "read-only" : "writable", usage);
                try
                {
                    await _registration.SetReadOnlyAsync(readOnly, _stop.Token).ConfigureAwait(false);
                }
                catch (MetadataException e)
                {
                    LogMessages.RegistrationFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Whether the bookie should refuse adds: for good once its journal is unusable, else when the
    /// fuller of its data and journal disks is above the read-only threshold (back below the
    /// writable one to accept adds again, so that it does not flap).
    /// </summary>
    internal static bool ShouldBeReadOnly(bool readOnlyNow, double diskUsage, bool journalUnusable, BookieOptions options)
        => journalUnusable || (readOnlyNow ? diskUsage > options.WritableBelowDiskUsage : diskUsage > options.ReadOnlyAboveDiskUsage);

    /// <summary>
    /// A journal that failed a write or fsync (a full disk) refuses every add until the bookie
    /// restarts: the bookie turns read-only at once and leaves <c>/bookies/available</c>, so that
    /// no new ledger chooses it. It keeps serving reads. Retries the registration change until it
    /// is stored.
    /// </summary>
    private async Task WatchJournalAsync()
    {
        try
        {
            await _storage.Journal.Unusable.WaitAsync(_stop.Token).ConfigureAwait(false);
            _journalUnusable = true;
            _storage.ReadOnly = true;
            LogMessages.JournalUnusable(_logger, BookieId);
            while (true)
            {
                try
                {
                    await _registration.SetReadOnlyAsync(true, _stop.Token).ConfigureAwait(false);
                    return;
                }
                catch (MetadataException e)
                {
                    LogMessages.RegistrationFailed(_logger, e);
                    await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _diskWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _journalWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_autoRecovery is not null)
            await _autoRecovery.DisposeAsync().ConfigureAwait(false);
        await _registration.DisposeAsync().ConfigureAwait(false);
        _localInvoker.Shutdown();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _storage.DisposeAsync().ConfigureAwait(false);
        if (_ownsMetadata)
            await _metadata.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
