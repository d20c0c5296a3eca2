using Microsoft.Extensions.Logging;
using Tiered.Ledger;
using Tiered.Metadata;

namespace Tiered.Bookie;

/// <summary>
/// Keeps the bookie listed in the metadata service as an ephemeral key, under
/// <c>/bookies/available/{id}</c> while it accepts adds or <c>/bookies/readonly/{id}</c> while
/// its disk is nearly full. The key vanishes when the bookie stops heart-beating (crash,
/// partition), which is what triggers auto-recovery of its ledgers. If the session is lost
/// (a long pause), the bookie registers again with a new one. The key's value is the bookie's advertised
/// address (HOST:PORT): writers and readers find it there by id, so a bookie restarted at another address
/// under the same id keeps serving its ledgers.
/// </summary>
internal sealed partial class BookieRegistration : IAsyncDisposable
{

    private readonly IMetadataStore _store;
    private readonly string _bookieId;
    private readonly byte[] _address;
    private readonly TimeSpan _ttl;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sync = new(1, 1);
    private MetadataSession? _session;
    private Task _watch = Task.CompletedTask;
    private bool _readOnly;

    private BookieRegistration(IMetadataStore store, string bookieId, string address, TimeSpan ttl, ILogger logger)
        => (_store, _bookieId, _address, _ttl, _logger) = (store, bookieId, System.Text.Encoding.UTF8.GetBytes(address), ttl, logger);

    /// <summary>Registers the bookie of <paramref name="options"/> under its id, with its advertised address as the value.</summary>
    public static async Task<BookieRegistration> StartAsync(IMetadataStore store, BookieOptions options, bool readOnly, ILogger logger, CancellationToken cancellationToken)
    {
        var address = options.ResolvedAdvertisedAddress;
        if (options.AdvertisesMachineHostName)
            LogMessages.AdvertisingHostName(logger, options.Listen, address);
        var registration = new BookieRegistration(store, options.BookieId, address, options.SessionTtl, logger) { _readOnly = readOnly };
        await registration.RegisterAsync(cancellationToken).ConfigureAwait(false);
        return registration;
    }



    private string CurrentKey => _readOnly ? BookiePaths.ReadOnlyKey(_bookieId) : BookiePaths.AvailableKey(_bookieId);

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_session is not null)
                await _session.DisposeAsync().ConfigureAwait(false);
            _session = await MetadataSession.CreateAsync(_store, _ttl, cancellationToken).ConfigureAwait(false);
            // A key left by our previous session (crash and quick restart) is replaced, not an error.
            await _store.PutAsync(CurrentKey, _address, sessionId: _session.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
            var lost = _session.Lost;
            _watch = Task.Run(() => ReRegisterWhenLostAsync(lost), CancellationToken.None);
            LogMessages.Registered(_logger, _bookieId, CurrentKey);
        }
        finally
        {
            _sync.Release();
        }
    }

    private async Task ReRegisterWhenLostAsync(CancellationToken lost)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(lost, _stop.Token).Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        while (!_stop.IsCancellationRequested)
        {
            LogMessages.SessionLost(_logger, _bookieId);
            try
            {
                await RegisterAsync(_stop.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is MetadataException or OperationCanceledException)
            {
                if (_stop.IsCancellationRequested)
                    return;
                await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>Moves the registration between available and read-only.</summary>
    public async Task SetReadOnlyAsync(bool readOnly, CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (readOnly == _readOnly || _session is null)
                return;
            var old = CurrentKey;
            var target = readOnly ? BookiePaths.ReadOnlyKey(_bookieId) : BookiePaths.AvailableKey(_bookieId);
            // Changed only once both steps are stored: after a failure a retry does both again.
            await _store.PutAsync(target, _address, sessionId: _session.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
            await _store.DeleteAsync(old, cancellationToken: cancellationToken).ConfigureAwait(false);
            _readOnly = readOnly;
            LogMessages.Registered(_logger, _bookieId, CurrentKey);
        }
        finally
        {
            _sync.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_session is not null)
            await _session.DisposeAsync().ConfigureAwait(false); // closing the session removes the key at once
        _stop.Dispose();
        _sync.Dispose();
    }
}
