namespace Tiered.Metadata;

/// <summary>
/// A session kept alive in the background: heartbeats every third of the TTL. When the
/// service declares the session gone (it expired, for example after a long pause of this
/// process), <see cref="Lost"/> is cancelled; the owner must then create a new session and
/// re-register its ephemeral keys. Disposing closes the session, deleting its ephemeral keys at once.
/// </summary>
public sealed class MetadataSession : IAsyncDisposable
{
    private readonly IMetadataStore _store;
    private readonly TimeSpan _ttl;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _heartbeats;

    private MetadataSession(IMetadataStore store, long id, TimeSpan ttl)
    {
        (_store, Id, _ttl) = (store, id, ttl);
        _heartbeats = Task.Run(HeartbeatAsync);
    }

    public long Id { get; }

    /// <summary>Cancelled once the session no longer exists on the service.</summary>
    public CancellationToken Lost => _lost.Token;

    public static async Task<MetadataSession> CreateAsync(IMetadataStore store, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var id = await store.CreateSessionAsync(ttl, cancellationToken).ConfigureAwait(false);
        return new MetadataSession(store, id, ttl);
    }

    private async Task HeartbeatAsync()
    {
        using var timer = new PeriodicTimer(_ttl / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await _store.KeepAliveAsync(Id, _stop.Token).ConfigureAwait(false);
                }
                catch (MetadataException e) when (e.Code == MetadataErrorCode.SessionNotFound)
                {
                    await _lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
                catch (MetadataException)
                {
                    // No leader right now: keep trying; a new leader grants every session a fresh TTL.
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
        await _heartbeats.ConfigureAwait(false);
        if (!_lost.IsCancellationRequested)
        {
            try
            {
                await _store.CloseSessionAsync(Id).ConfigureAwait(false);
            }
            catch (MetadataException)
            {
                // Already gone, or no leader: it expires by its TTL.
            }
        }
        _stop.Dispose();
        _lost.Dispose();
    }
}
