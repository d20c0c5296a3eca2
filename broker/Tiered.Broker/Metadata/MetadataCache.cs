using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Broker.Metadata;

/// <summary>
/// A read-through cache of the metadata keys under one prefix (the broker's admin objects: tenants,
/// namespace policies, partitioned topics), kept current by one watch, so that a lookup or a topic
/// open costs no read on the Raft leader once the keys it needs were read once. Absent keys are
/// cached too (most topics are not partitioned).
/// </summary>
/// <remarks>
/// <para>The watch starts from the revision of a write of <see cref="MetadataPaths.RevisionMark"/>:
/// every read that starts after that write sees that revision or a later one, and every change after
/// it reaches the watch, so nothing cached can miss a change. A watch event drops its key; the next
/// read fetches the new value.</para>
/// <para>A read that overlapped any change (or the watch's loss) is answered but not cached: its
/// value may be the one the change replaced. Until the watch runs (at start, and after it was lost:
/// the metadata service unreachable, the watcher too far behind) nothing is cached and every read
/// goes to the store; a lost watch forgets everything and is started again, so the keys are read anew.</para>
/// </remarks>
public sealed class MetadataCache : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(2);

    private readonly IMetadataStore _store;
    private readonly string _prefix;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly int _maxEntries;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _sync = new();
    private readonly CancellationTokenSource _stop = new();
    private long _changes;
    private bool _live;
    private Task? _watching;

    /// <summary>A cached value; null: the key does not exist.</summary>
    private sealed record Entry(object? Value);

    /// <param name="maxEntries">How many keys are cached at most; beyond, further keys are read from the store each time.</param>
    public MetadataCache(IMetadataStore store, string prefix, ILogger? logger = null, TimeProvider? time = null, int maxEntries = 1_000_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxEntries);
        (_store, _prefix, _logger, _time, _maxEntries) = (store, prefix, logger ?? NullLogger.Instance, time ?? TimeProvider.System, maxEntries);
    }

    /// <summary>Whether the watch runs, so that what is cached is current.</summary>
    public bool IsLive
    {
        get
        {
            lock (_sync)
                return _live;
        }
    }

    /// <summary>How many keys are cached (present or absent).</summary>
    public int Count => _entries.Count;

    /// <summary>Whether <paramref name="key"/> is a key this cache keeps.</summary>
    public bool Covers(string key) => key.StartsWith(_prefix, StringComparison.Ordinal);

    /// <summary>
    /// The key's value as <paramref name="parse"/> makes it (parsed once per change, shared by every
    /// reader: do not change it), or null when the key does not exist. Each key must always be read
    /// with the same <typeparamref name="T"/>.
    /// </summary>
    public async ValueTask<T?> GetAsync<T>(string key, Func<KeyValue, T> parse, CancellationToken cancellationToken) where T : class
    {
        if (_entries.TryGetValue(key, out var cached))
            return (T?)cached.Value;
        StartWatching();
        long seen;
        lock (_sync)
            seen = _live ? _changes : -1;
        var stored = await _store.GetAsync(key, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false);
        var value = stored is null ? null : parse(stored);
        lock (_sync)
        {
            if (_live && _changes == seen && _entries.Count < _maxEntries)
                _entries.TryAdd(key, new Entry(value));
        }
        return value;
    }

    /// <summary>Drops <paramref name="key"/> (it changed, or may have) and keeps reads that overlapped the change from caching what they saw.</summary>
    public void Invalidate(string key)
    {
        lock (_sync)
        {
            _changes++;
            _entries.TryRemove(key, out _);
        }
    }

    private void StartWatching()
    {
        if (Volatile.Read(ref _watching) is null)
        {
            lock (_sync)
                _watching ??= _stop.IsCancellationRequested ? Task.CompletedTask : Task.Run(WatchLoopAsync);
        }
    }

    private async Task WatchLoopAsync()
    {
        var retry = FirstRetry;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var mark = await _store.PutAsync(MetadataPaths.RevisionMark, ReadOnlyMemory<byte>.Empty, cancellationToken: _stop.Token).ConfigureAwait(false);
                lock (_sync)
                {
                    _changes++;
                    _live = true;
                }
                await foreach (var change in _store.WatchAsync(_prefix, mark.ModRevision, _stop.Token).ConfigureAwait(false))
                {
                    Invalidate(change.Kv.Key);
                    retry = FirstRetry;
                }
                throw new MetadataException(MetadataErrorCode.Unavailable, $"The watch on '{_prefix}' ended.");
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                BrokerLog.PolicyWatchLost(_logger, e);
            }
            Forget();
            try
            {
                await Task.Delay(retry, _time, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LastRetry.Ticks));
        }
        Forget();
    }

    /// <summary>The watch is gone: nothing cached can be trusted, and nothing is cached until it is back.</summary>
    private void Forget()
    {
        lock (_sync)
        {
            _live = false;
            _changes++;
            _entries.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task? watching;
        lock (_sync)
            watching = _watching;
        if (watching is not null)
            await watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
