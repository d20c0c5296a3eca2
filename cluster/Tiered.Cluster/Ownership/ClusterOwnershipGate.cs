using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Metadata;
using Tiered.Metadata.V1;

namespace Tiered.Cluster.Ownership;

/// <summary>
/// The ownership gate of a broker in a cluster. Lookups are answered from memory: this broker's
/// owned bundles, and the cluster's ownership records (<see cref="OwnershipView"/>) whose owners
/// Orleans' membership says are alive. A bundle nobody (alive) owns is placed by its ownership grain
/// (<see cref="BundleOwnershipGrain"/>), which takes it through <see cref="TakeAsync"/> on the broker
/// where it activates.
/// </summary>
/// <remarks>
/// <para>Taking writes <c>/namespace/{t}/{ns}/{range}</c> under this broker's metadata session in a
/// transaction that also checks the namespace policies' version (so a bundle that was just split
/// cannot be taken by a broker that has not seen the split) and the record's version (so of two
/// brokers that both saw the same owner dead, one wins). A record whose owner is alive is never
/// replaced. The record, not the grain, is the authority; and a topic's ledger is fenced when a new
/// owner opens it, so even two brokers that both believe they own a bundle cannot both append.</para>
/// <para>This broker stops serving a bundle as soon as its record is gone or names someone else
/// (its session expired, another broker took over after Orleans declared this one dead), even
/// before Orleans tells it anything.</para>
/// </remarks>
public sealed partial class ClusterOwnershipGate : IOwnershipGate, IAsyncDisposable
{
    private static readonly TimeSpan TakeRetry = TimeSpan.FromMilliseconds(20);

    private readonly BrokerOptions _options;
    private readonly PolicyStore _policies;
    private readonly OwnershipView _view;
    private readonly IMetadataStore _store;
    private readonly IGrainFactory _grains;
    private readonly IClusterMembershipService _membership;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<NamespaceBundle, long> _owned = new();
    private readonly ConcurrentDictionary<string, long> _released = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _sessionSync = new(1, 1);
    private MetadataSession? _session;
    private IOwnershipListener? _listener;
    private volatile bool _leaving;
    private int _disposed;

    public ClusterOwnershipGate(BrokerOptions options, PolicyStore policies, OwnershipView view, IMetadataStore store, IGrainFactory grains,
        IClusterMembershipService membership, ILogger<ClusterOwnershipGate> logger)
    {
        (_options, _policies, _view, _store, _grains, _membership, _logger) = (options, policies, view, store, grains, membership, logger);
        Self = StandaloneOwnershipGate.SelfOf(options);
        _view.Removed += OnRecordRemoved;
    }

    /// <summary>This broker's id (its Orleans silo name too).</summary>
    public string BrokerId => _options.BrokerId;

    public BrokerUrls Self { get; }

    /// <summary>The bundles this broker owns now.</summary>
    public IReadOnlyCollection<NamespaceBundle> Owned => [.. _owned.Keys];

    /// <summary>Whether this broker is handing its bundles over (stopping): it takes none.</summary>
    public bool IsLeaving => _leaving;

    public async ValueTask<TopicOwnership> CheckAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var bundle = (await _policies.GetBundlesAsync(topic.Namespace, cancellationToken).ConfigureAwait(false)).Find(topic);
        return Check(bundle);
    }

    private TopicOwnership Check(NamespaceBundle bundle)
    {
        if (!_leaving && _owned.ContainsKey(bundle))
            return TopicOwnership.Local(bundle, Self);
        if (_view.IsLive && _view.TryGet(bundle, out var record, out _) && record.BrokerId != BrokerId && IsAlive(record.BrokerId))
            return TopicOwnership.Elsewhere(bundle, record.Urls);
        return TopicOwnership.Unowned(bundle);
    }

    public async ValueTask<TopicOwnership> AcquireAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var bundle = (await _policies.GetBundlesAsync(topic.Namespace, cancellationToken).ConfigureAwait(false)).Find(topic);
        BundleOwner owner;
        try
        {
            owner = await CallGrainAsync(bundle, grain => grain.GetOwnerAsync(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogPlacementFailed(_logger, bundle.ToString(), e);
            throw new BrokerException(BrokerErrorCode.Unavailable, $"The owner of bundle {bundle} could not be settled ({e.GetType().Name}: {e.Message}); the cluster may be changing membership: retry shortly.", e);
        }
        if (owner.Refusal is { } refusal)
            throw new BrokerException(BrokerErrorCode.Unavailable, refusal);
        if (owner.BrokerId == BrokerId)
        {
            return _owned.ContainsKey(bundle) && !_leaving ? TopicOwnership.Local(bundle, Self)
                : throw new BrokerException(BrokerErrorCode.Unavailable, $"Bundle {bundle} is moving; look the topic up again.");
        }
        return TopicOwnership.Elsewhere(bundle, owner.Urls);
    }

    /// <summary>
    /// Takes <paramref name="bundle"/> for this broker (called by its ownership grain, active here)
    /// unless a live broker owns it; answers the owner.
    /// </summary>
    public async Task<BundleOwner> TakeAsync(NamespaceBundle bundle, CancellationToken cancellationToken)
    {
        if (_owned.ContainsKey(bundle))
            return new BundleOwner(BrokerId, Self.GrpcUrl, Self.HttpUrl);
        if (_leaving)
            throw new BrokerException(BrokerErrorCode.Unavailable, $"Broker {BrokerId} is shutting down and takes no bundle; look the topic up again.");
        var policiesKey = MetadataPaths.Namespace(bundle.Namespace);
        var ownerKey = MetadataPaths.BundleOwner(bundle);
        for (var attempt = 0; ; attempt++)
        {
            var session = await SessionAsync(cancellationToken).ConfigureAwait(false);
            var policies = await _store.GetAsync(policiesKey, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false)
                ?? throw new BrokerException(BrokerErrorCode.NamespaceNotFound, $"Namespace {bundle.Namespace} does not exist.");
            var bundles = new NamespaceBundles(bundle.Namespace, PolicyStore.Deserialize<NamespacePolicies>(policies.Value.Span)?.Bundles?.Parsed);
            if (!bundles.TryGet(bundle.Range, out _))
                throw new BrokerException(BrokerErrorCode.Unavailable, $"Bundle {bundle} no longer exists (the namespace's bundles changed); look the topic up again.");
            var current = await _store.GetAsync(ownerKey, ReadConsistency.Linearizable, cancellationToken).ConfigureAwait(false);
            var previous = current is null ? null : OwnershipRecord.FromJson(current.Value.Span);
            if (previous is not null && previous.BrokerId != BrokerId && IsAlive(previous.BrokerId))
                return BundleOwner.Of(previous);
            var record = new OwnershipRecord(BrokerId, Self.GrpcUrl, Self.HttpUrl, DateTimeOffset.UtcNow);
            var request = new TxnRequest
            {
                Ops =
                {
                    new TxnOp { Check = new CheckRequest { Key = policiesKey, ExpectedVersion = policies.Version } },
                    new TxnOp { Put = new PutRequest { Key = ownerKey, Value = ByteString.CopyFrom(record.ToJson()), ExpectedVersion = current?.Version ?? -1, SessionId = session.Id } },
                },
            };
            try
            {
                var stored = (await _store.TxnAsync(request, cancellationToken).ConfigureAwait(false)).Results[1].Kv;
                _owned[bundle] = stored.Version;
                _view.Observe(bundle, stored);
                if (previous is not null && previous.BrokerId != BrokerId)
                    LogTookOver(_logger, bundle.ToString(), previous.BrokerId);
                else
                    LogAcquired(_logger, bundle.ToString());
                return new BundleOwner(BrokerId, Self.GrpcUrl, Self.HttpUrl);
            }
            catch (MetadataException e) when (e.Code is MetadataErrorCode.BadVersion or MetadataErrorCode.SessionNotFound && attempt < 5)
            {
                // Someone wrote the record or the policies meanwhile, or our session just expired: read again.
                await Task.Delay(TakeRetry, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Gives <paramref name="bundle"/> up, if this broker owns it: its topics are unloaded (their
    /// ledgers closed, their clients told to look them up again), then its record is deleted, so
    /// the next owner opens every ledger after this broker stopped writing.
    /// </summary>
    public async Task ReleaseAsync(NamespaceBundle bundle, CancellationToken cancellationToken)
    {
        if (!_owned.TryRemove(bundle, out var version))
            return;
        _released[BundleOwnershipGrain.KeyOf(bundle)] = Environment.TickCount64;
        if (Volatile.Read(ref _listener) is { } listener)
            await listener.OnBundleLostAsync(bundle, newOwner: null, cancellationToken).ConfigureAwait(false);
        try
        {
            // The view learns of the delete from its watch; meanwhile this broker's own record does not count as an owner.
            await _store.DeleteAsync(MetadataPaths.BundleOwner(bundle), expectedVersion: version, CancellationToken.None).ConfigureAwait(false);
            LogReleased(_logger, bundle.ToString());
        }
        catch (MetadataException e)
        {
            // Taken over or expired meanwhile: it is not ours to delete any more.
            LogReleaseSkipped(_logger, bundle.ToString(), e.Message);
        }
    }

    /// <summary>A record went (or names another broker now): if it was one of ours, this broker no longer owns that bundle.</summary>
    private void OnRecordRemoved(NamespaceBundle bundle, OwnershipRecord gone)
    {
        if (gone.BrokerId != BrokerId || !_owned.TryRemove(bundle, out _))
            return;
        LogLost(_logger, bundle.ToString());
        if (Volatile.Read(ref _listener) is { } listener)
            _ = Task.Run(() => listener.OnBundleLostAsync(bundle, newOwner: null, CancellationToken.None));
    }

    public async ValueTask UnloadAsync(NamespaceBundle bundle, CancellationToken cancellationToken)
    {
        if (_owned.ContainsKey(bundle) || (_view.TryGet(bundle, out var owner, out _) && IsAlive(owner.BrokerId)))
            await CallGrainAsync(bundle, grain => grain.UnloadAsync(), cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<IReadOnlyList<BundleOwnership>> ListOwnershipAsync(CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<BundleOwnership>>([.. _view.All.Where(o => IsAlive(o.Owner.BrokerId)).Select(o => new BundleOwnership(o.Bundle, o.Owner.BrokerId, o.Owner.Urls))]);

    public void SetListener(IOwnershipListener listener) => Volatile.Write(ref _listener, listener);

    /// <summary>
    /// Whether this broker gave the bundle of grain <paramref name="grainKey"/> up in the last 10 s (an unload or
    /// a balancing move): its placement then prefers another broker, so that the clients' lookups, which may
    /// arrive here first, do not place it straight back.
    /// </summary>
    public bool ReleasedRecently(string grainKey)
        => _released.TryGetValue(grainKey, out var at) && Environment.TickCount64 - at < 10_000;

    /// <summary>
    /// Calls <paramref name="bundle"/>'s ownership grain with a placement hint naming the owner's silo, if a live
    /// broker owns it: should Orleans have dropped the grain's activation (it does when the silo holding its
    /// directory entry dies), the call activates it again where the bundle is owned, not wherever placement would put
    /// a new bundle.
    /// </summary>
    internal async Task CallGrainAsync(NamespaceBundle bundle, Func<IBundleOwnershipGrain, Task> call, CancellationToken cancellationToken)
        => await CallGrainAsync(bundle, async grain => { await call(grain).ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="CallGrainAsync(NamespaceBundle, Func{IBundleOwnershipGrain, Task}, CancellationToken)"/>
    internal async Task<T> CallGrainAsync<T>(NamespaceBundle bundle, Func<IBundleOwnershipGrain, Task<T>> call, CancellationToken cancellationToken)
    {
        var owner = _owned.ContainsKey(bundle) ? BrokerId : _view.TryGet(bundle, out var record, out _) ? record.BrokerId : null;
        var silo = owner is null ? null : _membership.CurrentSnapshot.Members.Values.FirstOrDefault(m => m.Name == owner && m.Status == SiloStatus.Active)?.SiloAddress;
        if (silo is not null)
            RequestContext.Set(IPlacementDirector.PlacementHintKey, silo);
        try
        {
            return await call(_grains.GetGrain<IBundleOwnershipGrain>(BundleOwnershipGrain.KeyOf(bundle))).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (silo is not null)
                RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
    }

    /// <summary>Whether Orleans' membership counts <paramref name="brokerId"/>'s silo as alive (not declared dead).</summary>
    public bool IsAlive(string brokerId)
    {
        foreach (var member in _membership.CurrentSnapshot.Members.Values)
        {
            if (member.Name == brokerId && member.Status is not SiloStatus.Dead and not SiloStatus.None)
                return true;
        }
        return false;
    }

    /// <summary>
    /// Hands every bundle over before the broker stops: from now on it takes none, and each owned
    /// bundle is released through its grain (so the grain deactivates and the next lookup places it
    /// on another broker).
    /// </summary>
    public async Task LeaveAsync(CancellationToken cancellationToken)
    {
        _leaving = true;
        var bundles = _owned.Keys.ToList();
        if (bundles.Count > 0)
            LogLeaving(_logger, bundles.Count);
        await Parallel.ForEachAsync(bundles, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (bundle, ct) =>
        {
            try
            {
                await CallGrainAsync(bundle, grain => grain.UnloadAsync(), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPlacementFailed(_logger, bundle.ToString(), e);
                await ReleaseAsync(bundle, ct).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    /// <summary>This broker's metadata session for its ephemeral records (ownership, load reports); a new one once it was lost.</summary>
    internal async ValueTask<MetadataSession> SessionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _session) is { Lost.IsCancellationRequested: false } current)
            return current;
        await _sessionSync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_session is { Lost.IsCancellationRequested: false } live)
                return live;
            if (_session is not null)
                await _session.DisposeAsync().ConfigureAwait(false);
            var created = await MetadataSession.CreateAsync(_store, _options.SessionTtl, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _session, created);
            return created;
        }
        finally
        {
            _sessionSync.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _view.Removed -= OnRecordRemoved;
        if (Interlocked.Exchange(ref _session, null) is { } session)
            await session.DisposeAsync().ConfigureAwait(false);
        _sessionSync.Dispose();
    }

    [LoggerMessage(EventId = 11001, EventName = "BundleAcquired", Level = LogLevel.Information, Message = "Owns bundle {Bundle}")]
    private static partial void LogAcquired(ILogger logger, string bundle);

    [LoggerMessage(EventId = 11002, EventName = "BundleTakenOver", Level = LogLevel.Warning, Message = "Took bundle {Bundle} over from {Previous}, which the cluster declared dead")]
    private static partial void LogTookOver(ILogger logger, string bundle, string previous);

    [LoggerMessage(EventId = 11003, EventName = "BundleReleased", Level = LogLevel.Information, Message = "Released bundle {Bundle}")]
    private static partial void LogReleased(ILogger logger, string bundle);

    [LoggerMessage(EventId = 11004, EventName = "BundleReleaseSkipped", Level = LogLevel.Information, Message = "Released bundle {Bundle}; its record was not ours to delete any more ({Reason})")]
    private static partial void LogReleaseSkipped(ILogger logger, string bundle, string reason);

    [LoggerMessage(EventId = 11005, EventName = "BundleLost", Level = LogLevel.Warning, Message = "Lost bundle {Bundle}: its ownership record is gone or names another broker (session expired or taken over); unloading its topics")]
    private static partial void LogLost(ILogger logger, string bundle);

    [LoggerMessage(EventId = 11006, EventName = "BundlePlacementFailed", Level = LogLevel.Warning, Message = "Could not settle the owner of bundle {Bundle}")]
    private static partial void LogPlacementFailed(ILogger logger, string bundle, Exception exception);

    [LoggerMessage(EventId = 11007, EventName = "HandingOver", Level = LogLevel.Information, Message = "Stopping: handing {Count} bundles over to the other brokers")]
    private static partial void LogLeaving(ILogger logger, int count);
}
