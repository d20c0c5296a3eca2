using Microsoft.Extensions.Logging;

namespace Tiered.Metadata;

/// <summary>
/// Keeps one ephemeral key of this process in the metadata service: written under a
/// <see cref="MetadataSession"/>, gone when the process stops heart-beating (crash, partition)
/// or disposes it. If the session is lost (a long pause), the record is written again under a
/// new one. <see cref="MoveAsync"/> changes its key and value (a bookie turning read-only).
/// </summary>
public sealed partial class EphemeralRecord : IAsyncDisposable
{
    private readonly IMetadataStore _store;
    private readonly TimeSpan _ttl;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sync = new(1, 1);
    private MetadataSession? _session;
    private Task _watch = Task.CompletedTask;
    private byte[] _value;
    private int _disposed;

    private EphemeralRecord(IMetadataStore store, string key, byte[] value, TimeSpan ttl, ILogger logger)
        => (_store, Key, _value, _ttl, _logger) = (store, key, value, ttl, logger);

    /// <summary>The key the record is stored at now.</summary>
    public string Key { get; private set; }

    /// <summary>Writes the record under a new session; returns once it is stored.</summary>
    public static async Task<EphemeralRecord> StartAsync(IMetadataStore store, string key, byte[] value, TimeSpan ttl, ILogger logger, CancellationToken cancellationToken)
    {
        var record = new EphemeralRecord(store, key, value, ttl, logger);
        await record.WriteAsync(cancellationToken).ConfigureAwait(false);
        return record;
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_session is not null)
                await _session.DisposeAsync().ConfigureAwait(false);
            _session = await MetadataSession.CreateAsync(_store, _ttl, cancellationToken).ConfigureAwait(false);
            // A key left by our previous session (crash and quick restart) is replaced, not an error.
            await _store.PutAsync(Key, _value, sessionId: _session.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
            var lost = _session.Lost;
            _watch = Task.Run(() => WriteAgainWhenLostAsync(lost), CancellationToken.None);
            LogWritten(_logger, Key);
        }
        finally
        {
            _sync.Release();
        }
    }

    private async Task WriteAgainWhenLostAsync(CancellationToken lost)
    {
        using (var either = CancellationTokenSource.CreateLinkedTokenSource(lost, _stop.Token))
            await Task.Delay(Timeout.Infinite, either.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        while (!_stop.IsCancellationRequested)
        {
            LogSessionLost(_logger, Key);
            try
            {
                await WriteAsync(_stop.Token).ConfigureAwait(false);
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

    /// <summary>
    /// Moves the record to <paramref name="key"/> with <paramref name="value"/>. Changed only once
    /// the new key is stored and the old one deleted: after a failure a retry does both again.
    /// </summary>
    public async Task MoveAsync(string key, byte[] value, CancellationToken cancellationToken)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_session is null || (key == Key && value.AsSpan().SequenceEqual(_value)))
                return;
            await _store.PutAsync(key, value, sessionId: _session.Id, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (key != Key)
                await _store.DeleteAsync(Key, cancellationToken: cancellationToken).ConfigureAwait(false);
            (Key, _value) = (key, value);
            LogWritten(_logger, Key);
        }
        finally
        {
            _sync.Release();
        }
    }

    /// <summary>Closes the session, which deletes the record at once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_session is not null)
            await _session.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _sync.Dispose();
    }

    [LoggerMessage(EventId = 10001, EventName = "EphemeralRecordWritten", Level = LogLevel.Information, Message = "Registered as {Key}")]
    private static partial void LogWritten(ILogger logger, string key);

    [LoggerMessage(EventId = 10002, EventName = "EphemeralRecordSessionLost", Level = LogLevel.Warning, Message = "The metadata session of {Key} was lost; registering again")]
    private static partial void LogSessionLost(ILogger logger, string key);
}
