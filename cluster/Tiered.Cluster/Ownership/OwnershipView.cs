using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Metadata;
using Tiered.Broker.Ownership;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Cluster.Ownership;

/// <summary>
/// Every bundle ownership record of the cluster (<c>/namespace/…</c>), in memory and kept current by
/// one watch, so that the gate answers lookups without reading the metadata service. It starts from
/// the revision of a write of <see cref="MetadataPaths.RevisionMark"/>: a listing read after that
/// write and the watch from that revision together miss nothing; each key keeps the newest
/// revision seen, so an event older than the listing cannot undo it.
/// </summary>
/// <remarks>
/// While the watch is down (the metadata service unreachable) the view keeps what it had but says
/// it is not live; the gate then treats owners as unknown rather than trusting a stale map.
/// <see cref="Removed"/> tells the gate of every record that went (released, expired or taken over).
/// </remarks>
public sealed partial class OwnershipView : IAsyncDisposable
{
    private readonly IMetadataStore _store;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<NamespaceBundle, Entry> _records = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _watching = Task.CompletedTask;
    private volatile bool _live;
    private int _disposed;

    private readonly record struct Entry(long Revision, long Version, OwnershipRecord? Record);

    public OwnershipView(IMetadataStore store, ILogger<OwnershipView> logger) => (_store, _logger) = (store, logger);

    /// <summary>Called (on the watch's task) for every bundle whose record was deleted, with the record it had.</summary>
    public event Action<NamespaceBundle, OwnershipRecord>? Removed;

    /// <summary>Whether the watch runs, so the map is current.</summary>
    public bool IsLive => _live;

    /// <summary>Starts watching; returns once the first listing is in.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _watching = Task.Run(WatchLoopAsync, CancellationToken.None);
        return _firstSync.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The bundle's owner as last seen, and the record's version (for compare-and-set); false when nobody owns it.</summary>
    public bool TryGet(NamespaceBundle bundle, out OwnershipRecord record, out long version)
    {
        if (_records.TryGetValue(bundle, out var entry) && entry.Record is { } found)
        {
            (record, version) = (found, entry.Version);
            return true;
        }
        (record, version) = (null!, 0);
        return false;
    }

    /// <summary>Every owned bundle with its owner.</summary>
    public IEnumerable<(NamespaceBundle Bundle, OwnershipRecord Owner)> All
        => _records.Where(kv => kv.Value.Record is not null).Select(kv => (kv.Key, kv.Value.Record!));

    /// <summary>How many bundles each broker owns.</summary>
    public Dictionary<string, int> CountByBroker()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (_, owner) in All)
            counts[owner.BrokerId] = counts.GetValueOrDefault(owner.BrokerId) + 1;
        return counts;
    }

    /// <summary>Records a write this broker made, so that its own next lookup sees it before the watch delivers it.</summary>
    internal void Observe(NamespaceBundle bundle, KeyValue stored)
        => Apply(bundle, new Entry(stored.ModRevision, stored.Version, OwnershipRecord.FromJson(stored.Value.Span)));

    private void ObserveDeleted(NamespaceBundle bundle, long revision) => Apply(bundle, new Entry(revision, 0, null));

    private void Apply(NamespaceBundle bundle, Entry update)
    {
        while (true)
        {
            if (!_records.TryGetValue(bundle, out var current))
            {
                if (_records.TryAdd(bundle, update))
                    return;
                continue;
            }
            if (current.Revision >= update.Revision)
                return;
            if (_records.TryUpdate(bundle, update, current))
            {
                if (current.Record is { } gone && (update.Record is null || update.Record.BrokerId != gone.BrokerId))
                    Removed?.Invoke(bundle, gone);
                return;
            }
        }
    }

    private async Task WatchLoopAsync()
    {
        var retry = TimeSpan.FromMilliseconds(50);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var mark = await _store.PutAsync(MetadataPaths.RevisionMark, ReadOnlyMemory<byte>.Empty, cancellationToken: _stop.Token).ConfigureAwait(false);
                var listed = await _store.ListAsync(MetadataPaths.BundleOwners + "/", ReadConsistency.Linearizable, _stop.Token).ConfigureAwait(false);
                var present = new HashSet<NamespaceBundle>();
                foreach (var kv in listed)
                {
                    if (MetadataPaths.TryParseBundleOwner(kv.Key, out var bundle))
                    {
                        present.Add(bundle);
                        Observe(bundle, kv);
                    }
                }
                // Records that went while the watch was down.
                foreach (var bundle in _records.Keys.Where(b => !present.Contains(b)).ToList())
                    ObserveDeleted(bundle, mark.ModRevision);
                _live = true;
                _firstSync.TrySetResult();
                retry = TimeSpan.FromMilliseconds(50);
                await foreach (var change in _store.WatchAsync(MetadataPaths.BundleOwners + "/", mark.ModRevision, _stop.Token).ConfigureAwait(false))
                {
                    if (!MetadataPaths.TryParseBundleOwner(change.Kv.Key, out var bundle))
                        continue;
                    if (change.Type == WatchEvent.Types.Type.Put)
                        Observe(bundle, change.Kv);
                    else
                        ObserveDeleted(bundle, change.Revision);
                }
                throw new MetadataException(MetadataErrorCode.Unavailable, "The watch on bundle ownership ended.");
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                _live = false;
                ClusterLog.OwnershipWatchLost(_logger, e);
            }
            await Task.Delay(retry, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
        }
        _live = false;
    }

    public async ValueTask DisposeAsync()
    {
        // Stopped by the host, then disposed by the container: once.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _watching.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
