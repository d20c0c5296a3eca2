using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tiered.Bookie.Server;
using Tiered.Bookie.Storage;
using Tiered.Ledger;
using Tiered.Metadata;
using Tiered.Proto.Streams;

namespace Tiered.Bookie;

/// <summary>
/// The life of a bookie in its host. Before the server listens: the storage opens (journal
/// replay), and the service is ready for the gRPC endpoint and for in-process writers. Once the
/// server listens: the bookie registers in the metadata service (writers only learn of a bookie
/// that can serve them), joins auto-recovery and starts watching its disks. On stop, the reverse:
/// it leaves the registration before the server stops, and closes its storage after.
/// A bookie being decommissioned (its key under <see cref="BookiePaths.Decommissioning"/>, written by
/// the admin API) turns read-only for good, also across restarts, and ends its writers' add streams
/// so that they move to other bookies.
/// </summary>
internal sealed class BookieHost(IOptions<BookieOptions> options, ILoggerFactory loggerFactory, LocalBookies localBookies, Instrumentation instrumentation, IServiceProvider services)
    : IHostedLifecycleService, IDisposable
{
    private static readonly TimeSpan DiskCheckInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan DecommissionRecheckInterval = TimeSpan.FromSeconds(5);

    private readonly BookieOptions _options = options.Value;
    private readonly ILogger _logger = loggerFactory.CreateLogger<BookieServer>();
    private readonly CancellationTokenSource _stop = new();
    private BookieStorage? _storage;
    private BookieState? _state;
    private BookieService? _service;
    private InProcessCallInvoker? _localInvoker;
    private BookieRegistration? _registration;
    private Task _diskWatch = Task.CompletedTask;
    private Task _journalWatch = Task.CompletedTask;
    private Task _decommissionWatch = Task.CompletedTask;
    private volatile bool _journalUnusable;
    private volatile bool _decommissioned;

    public string BookieId => _options.BookieId;

    public BookieService Service => _service ?? throw new InvalidOperationException("The bookie is used before the host started it.");

    public CallInvoker LocalInvoker => _localInvoker ?? throw new InvalidOperationException("The bookie is used before the host started it.");

    /// <summary>This bookie's auto-recovery role once registered (null when off).</summary>
    public AutoRecovery? AutoRecovery { get; private set; }

    /// <summary>Registered and serving: adds when writable, reads always.</summary>
    public bool IsRegistered => _registration is not null && !_stop.IsCancellationRequested;

    public bool IsReadOnly => _storage?.ReadOnly ?? true;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Cookie.VerifyOrCreate(_options.DataDir, _options.JournalDirectory, _options.BookieId);
        _storage = await BookieStorage.OpenAsync(_options.DataDir, _options.JournalDirectory, _options.WriteCacheBytes, loggerFactory.CreateLogger<BookieStorage>(), cancellationToken,
            journalPreallocationBytes: _options.JournalPreallocationBytes, journalHooks: services.GetService<JournalTestHooks>(), instrumentation: instrumentation).ConfigureAwait(false);
        _state = new BookieState(_options);
        _storage.ReadOnly = _state.DiskUsage() > _options.ReadOnlyAboveDiskUsage;
        // One instance for both the gRPC endpoint and in-process callers.
        _service = new BookieService(_storage, _state);
        var service = _service;
        _localInvoker = new InProcessCallInvoker(binder => V1.Bookie.BindService(binder, service));
        localBookies.Add(BookieId, _localInvoker);
    }

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        var storage = _storage!;
        var metadata = services.GetRequiredService<IMetadataStore>();
        // A decommissioned bookie that restarts must not become writable again, not even for a moment.
        if (await metadata.GetAsync(BookiePaths.DecommissioningKey(BookieId), cancellationToken: cancellationToken).ConfigureAwait(false) is not null)
        {
            _decommissioned = true;
            storage.ReadOnly = true;
            Service.EndAddStreams();
        }
        _registration = await BookieRegistration.StartAsync(metadata, _options, storage.ReadOnly, _logger, cancellationToken).ConfigureAwait(false);
        // Every bookie runs the auto-recovery role; the metadata lock makes one of them active.
        if (_options.AutoRecovery)
        {
            AutoRecovery = await AutoRecovery.StartAsync(metadata, new LedgerClientOptions
            {
                LoggerFactory = loggerFactory,
                LocalBookies = new Dictionary<string, CallInvoker> { [BookieId] = LocalInvoker },
                Tls = services.GetService<Tiered.Proto.Tls.TlsTrust>(),
                Token = services.GetService<Tiered.Proto.Auth.CallToken>(),
            }, loggerFactory.CreateLogger<AutoRecovery>(), cancellationToken).ConfigureAwait(false);
        }
        _diskWatch = Task.Run(WatchDiskAsync, CancellationToken.None);
        _journalWatch = Task.Run(WatchJournalAsync, CancellationToken.None);
        if (!_decommissioned)
            _decommissionWatch = Task.Run(() => WatchDecommissionAsync(metadata), CancellationToken.None);
        LogMessages.Started(_logger, BookieId, storage.LedgerCount, storage.ReadOnly ? "read-only" : "writable");
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_stop.IsCancellationRequested)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _diskWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _journalWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _decommissionWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (AutoRecovery is not null)
            await AutoRecovery.DisposeAsync().ConfigureAwait(false);
        if (_registration is not null)
            await _registration.DisposeAsync().ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        localBookies.Remove(BookieId);
        _localInvoker?.Shutdown();
        if (Interlocked.Exchange(ref _storage, null) is { } storage)
            await storage.DisposeAsync().ConfigureAwait(false);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _stop.Dispose();

    private async Task WatchDiskAsync()
    {
        var (storage, state, registration) = (_storage!, _state!, _registration!);
        using var timer = new PeriodicTimer(DiskCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var usage = state.DiskUsage();
                var readOnly = ShouldBeReadOnly(storage.ReadOnly, usage, _journalUnusable || _decommissioned, _options);
                if (readOnly == storage.ReadOnly)
                    continue;
                storage.ReadOnly = readOnly;
                LogMessages.StateChanged(_logger, BookieId, readOnly ? "read-only" : "writable", usage);
                try
                {
                    await registration.SetReadOnlyAsync(readOnly, _stop.Token).ConfigureAwait(false);
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
    /// Waits for an operator to decommission this bookie (the admin API writes its key), then turns
    /// read-only for good: adds are refused, the registration moves to <c>/bookies/readonly</c> (no new
    /// ensemble chooses it) and every add stream ends (writers replace it), while reads go on being
    /// served for auto-recovery to copy its ledgers. The key is read again every few seconds besides
    /// the watch, so a change between a read and the start of a watch is never missed for long.
    /// </summary>
    private async Task WatchDecommissionAsync(IMetadataStore metadata)
    {
        var key = BookiePaths.DecommissioningKey(BookieId);
        var token = _stop.Token;
        try
        {
            while (true)
            {
                try
                {
                    if (await metadata.GetAsync(key, cancellationToken: token).ConfigureAwait(false) is not null)
                        break;
                    using var window = CancellationTokenSource.CreateLinkedTokenSource(token);
                    window.CancelAfter(DecommissionRecheckInterval);
                    try
                    {
                        await foreach (var change in metadata.WatchAsync(key, cancellationToken: window.Token).ConfigureAwait(false))
                        {
                            if (change.Kv.Key == key && change.Type == Metadata.V1.WatchEvent.Types.Type.Put)
                                break;
                        }
                    }
                    catch (Exception) when (window.IsCancellationRequested && !token.IsCancellationRequested)
                    {
                        // The window ended (the watch reports it as a cancelled call): read the key again.
                    }
                }
                catch (Exception e) when (!token.IsCancellationRequested && e is MetadataException or RpcException or IOException or InvalidOperationException)
                {
                    LogMessages.RegistrationFailed(_logger, e);
                    await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
                }
            }
            _decommissioned = true;
            _storage!.ReadOnly = true;
            Service.EndAddStreams();
            LogMessages.Decommissioned(_logger, BookieId);
            while (true)
            {
                try
                {
                    await _registration!.SetReadOnlyAsync(true, token).ConfigureAwait(false);
                    return;
                }
                catch (MetadataException e)
                {
                    LogMessages.RegistrationFailed(_logger, e);
                    await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
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
        var (storage, registration) = (_storage!, _registration!);
        try
        {
            await storage.Journal.Unusable.WaitAsync(_stop.Token).ConfigureAwait(false);
            _journalUnusable = true;
            storage.ReadOnly = true;
            LogMessages.JournalUnusable(_logger, BookieId);
            while (true)
            {
                try
                {
                    await registration.SetReadOnlyAsync(true, _stop.Token).ConfigureAwait(false);
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
}
