using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Ledger;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>
/// The topics this broker has loaded: each is opened once (its managed ledger recovered from a
/// previous owner), created on first use when its namespace allows it, and applies retention
/// and message TTL on a timer. A topic is opened only once the <see cref="IOwnershipGate"/> said
/// this broker owns it: <see cref="GetTopicAsync"/>, <see cref="LoadAsync"/> and
/// <see cref="DeleteAsync"/> ask it first and throw <see cref="OwnedElsewhereException"/> otherwise.
/// </summary>
public sealed partial class TopicRegistry : IAsyncDisposable, IOwnershipListener
{
    private readonly ConcurrentDictionary<TopicName, Lazy<Task<Topic>>> _topics = new();
    private readonly LedgerClient _ledgers;
    private readonly BrokerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _maintenance;
    private readonly Task _backlogQuotas;
    private readonly bool _ownsInstrumentation;
    private readonly ManagedLedgers.Instrumentation? _managedLedgerInstrumentation;

    /// <param name="ownership">Who owns which topics; null: <see cref="StandaloneOwnershipGate"/> (this broker owns everything).</param>
    /// <param name="instrumentation">Where the broker's metrics are observed and recorded; null: an instance of its own.</param>
    /// <param name="managedLedgerInstrumentation">Where the topics' managed ledgers count cache hits, rollovers and trims; null: the process-wide default.</param>
    /// <param name="tieredStorage">Where closed ledgers are offloaded (null: this broker does not offload).</param>
    /// <param name="time">The broker's clock (publish times, TTLs, rates); null: the system clock.</param>
    /// <remarks>The registry owns <paramref name="policies"/> and disposes it.</remarks>
    public TopicRegistry(LedgerClient ledgers, PolicyStore policies, BrokerOptions options, ILoggerFactory loggerFactory, IOwnershipGate? ownership = null,
        Instrumentation? instrumentation = null, ManagedLedgers.Instrumentation? managedLedgerInstrumentation = null, Offloader.TieredStorage? tieredStorage = null, TimeProvider? time = null,
        Replication.IReplicatorFactory? replication = null)
    {
        _replication = replication;
        _managedLedgerInstrumentation = managedLedgerInstrumentation;
        TieredStorage = tieredStorage;
        Time = time ?? TimeProvider.System;
        (_ledgers, Policies, _options, _loggerFactory) = (ledgers, policies, options, loggerFactory);
        Ownership = ownership ?? new StandaloneOwnershipGate(options, policies);
        Ownership.SetListener(this);
        _ownsInstrumentation = instrumentation is null;
        Instrumentation = instrumentation ?? new Instrumentation(meterFactory: null);
        Instrumentation.Track(this);
        _logger = loggerFactory.CreateLogger<TopicRegistry>();
        _maintenance = Task.Run(MaintenanceLoopAsync);
        _backlogQuotas = Task.Run(BacklogQuotaLoopAsync);
    }

    public PolicyStore Policies { get; }

    private readonly Replication.IReplicatorFactory? _replication;

    /// <summary>The gate every path to a topic passes.</summary>
    public IOwnershipGate Ownership { get; }

    public BrokerOptions Options => _options;

    /// <summary>The broker's clock: publish times, message TTLs, rates.</summary>
    public TimeProvider Time { get; }

    public Instrumentation Instrumentation { get; }

    public IReadOnlyCollection<Topic> LoadedTopics
        => [.. _topics.Values.Where(t => t.Value.IsCompletedSuccessfully).Select(t => t.Value.Result)];

    /// <summary>
    /// The topic, loaded. A topic that is not stored is created when <paramref name="create"/> is
    /// true and its namespace allows automatic creation; otherwise TopicNotFound.
    /// </summary>
    public async Task<Topic> GetTopicAsync(TopicName name, bool create, CancellationToken cancellationToken)
    {
        await Ownership.RequireLocalAsync(name, cancellationToken).ConfigureAwait(false);
        if (_topics.TryGetValue(name, out var loading) && loading.Value.IsCompletedSuccessfully)
            return loading.Value.Result;
        var policies = await Policies.RequireNamespaceAsync(name.Namespace, cancellationToken).ConfigureAwait(false);
        if (!await ManagedLedger.ExistsAsync(name.ManagedLedgerName, Policies.Metadata, cancellationToken).ConfigureAwait(false))
        {
            var partitions = await Policies.GetPartitionsAsync(name, cancellationToken).ConfigureAwait(false);
            if (partitions > 0)
                throw new BrokerException(BrokerErrorCode.BadRequest,
                    $"Topic {name} is partitioned ({partitions} partitions): use its partitions {name.Partition(0)} … {name.Partition(partitions - 1)} (the client does this after a Lookup).");
            var parent = name.PartitionIndex >= 0 ? await Policies.GetPartitionsAsync(name.PartitionedTopic, cancellationToken).ConfigureAwait(false) : 0;
            var isPartitionOfExisting = name.PartitionIndex >= 0 && parent > name.PartitionIndex;
            var allowed = policies.AutoTopicCreationOverride?.AllowAutoTopicCreation ?? _options.AllowAutoTopicCreation;
            if (!isPartitionOfExisting && !(create && allowed))
                throw new BrokerException(BrokerErrorCode.TopicNotFound, create
                    ? $"Topic {name} does not exist and namespace {name.Namespace} does not allow creating topics automatically; create it with PUT /admin/v2/persistent/{name.Namespace}/{name.LocalName}."
                    : $"Topic {name} does not exist.");
        }
        return await LoadOwnedAsync(name).ConfigureAwait(false);
    }

    /// <summary>The loaded topic, or null when this broker has not loaded it.</summary>
    public Topic? FindLoaded(TopicName name)
        => _topics.TryGetValue(name, out var loading) && loading.Value.IsCompletedSuccessfully ? loading.Value.Result : null;

    /// <summary>Loads a topic that is stored (or creates it: the caller checked that it may); <see cref="OwnedElsewhereException"/> when another broker owns it.</summary>
    public async Task<Topic> LoadAsync(TopicName name, CancellationToken cancellationToken = default)
    {
        await Ownership.RequireLocalAsync(name, cancellationToken).ConfigureAwait(false);
        return await LoadOwnedAsync(name).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads a topic the gate said this broker owns. The gate is asked again once it is loaded: the
    /// bundle may have been lost while it loaded (after the unload of the bundle's topics had run),
    /// and a topic left open on a broker that does not own it would serve its clients a stale log.
    /// </summary>
    private async Task<Topic> LoadOwnedAsync(TopicName name)
    {
        var loading = _topics.GetOrAdd(name, n => new Lazy<Task<Topic>>(() => OpenAsync(n)));
        Topic topic;
        try
        {
            topic = await loading.Value.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _topics.TryRemove(new KeyValuePair<TopicName, Lazy<Task<Topic>>>(name, loading));
            throw e is BrokerException ? e : new BrokerException(BrokerErrorCode.Unavailable, $"Topic {name} could not be loaded: {e.Message}", e);
        }
        var ownership = await Ownership.CheckAsync(name, CancellationToken.None).ConfigureAwait(false);
        if (ownership.State == OwnershipState.Local)
            return topic;
        await UnloadAsync(name, ownership.Owner).ConfigureAwait(false);
        throw ownership.State == OwnershipState.Elsewhere ? new OwnedElsewhereException(name, ownership.Owner!)
            : new BrokerException(BrokerErrorCode.Unavailable, $"Topic {name} moved while it was loading (bundle {ownership.Bundle}); look it up again.");
    }

    /// <summary>
    /// Unloads a topic (closing its clients' streams) without deleting anything. With
    /// <paramref name="movedTo"/> its clients are told the new owner's address.
    /// </summary>
    public async Task UnloadAsync(TopicName name, BrokerUrls? movedTo = null)
    {
        if (_topics.TryRemove(name, out var loading))
        {
            try
            {
                var topic = await loading.Value.ConfigureAwait(false);
                if (movedTo is not null)
                    topic.MarkMoved(movedTo);
                Instrumentation.Retire(this, topic);
                await topic.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is ManagedLedgerException or LedgerException or BrokerException)
            {
                BrokerLog.UnloadFailed(_logger, name.ToString(), e);
            }
        }
    }

    /// <summary>The broker-side unload path: the gate says this broker lost <paramref name="bundle"/>, so its loaded topics go.</summary>
    public async Task OnBundleLostAsync(NamespaceBundle bundle, BrokerUrls? newOwner, CancellationToken cancellationToken)
    {
        foreach (var name in _topics.Keys.Where(bundle.Contains).ToList())
            await UnloadAsync(name, newOwner).ConfigureAwait(false);
        BrokerLog.BundleUnloaded(_logger, bundle.ToString(), newOwner?.GrpcUrl ?? "(none yet)");
    }

    /// <summary>Deletes a topic and all its data. TopicNotFound; Conflict while clients are connected unless <paramref name="force"/>.</summary>
    public async Task DeleteAsync(TopicName name, bool force, CancellationToken cancellationToken)
    {
        await Ownership.RequireLocalAsync(name, cancellationToken).ConfigureAwait(false);
        if (!await ManagedLedger.ExistsAsync(name.ManagedLedgerName, Policies.Metadata, cancellationToken).ConfigureAwait(false))
            throw new BrokerException(BrokerErrorCode.TopicNotFound, $"Topic {name} does not exist.");
        var topic = await LoadOwnedAsync(name).ConfigureAwait(false);
        if (!force && topic.IsInUse)
            throw new BrokerException(BrokerErrorCode.Conflict, $"Topic {name} has connected producers or consumers; disconnect them first or delete with force=true.");
        if (_topics.TryRemove(name, out _))
            Instrumentation.Retire(this, topic);
        topic.DisconnectAll($"topic {name} was deleted");
        foreach (var subscription in topic.Subscriptions)
            await subscription.DisposeAsync().ConfigureAwait(false);
        await topic.Ledger.DeleteAsync(cancellationToken).ConfigureAwait(false);
        await Policies.Metadata.DeleteAsync(MetadataPaths.TerminatedTopic(name), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task<Topic> OpenAsync(TopicName name)
    {
        BrokerLog.LoadingTopic(_logger, name.ToString());
        var topic = await Topic.OpenAsync(name,
            ledgerName => ManagedLedger.OpenAsync(ledgerName, _ledgers, Policies.Metadata, _options.ManagedLedger, _loggerFactory, createIfMissing: true, _stop.Token,
                _managedLedgerInstrumentation, TieredStorage, Time),
            _loggerFactory, Time, _options.DelayedDelivery).ConfigureAwait(false);
        topic.MetricTags = Instrumentation.TagsOf(this, name);
        try
        {
            await topic.SetDeduplicationAsync(await Policies.IsDeduplicationEnabledAsync(name, _options.DeduplicationEnabled, _stop.Token).ConfigureAwait(false), _stop.Token)
                .ConfigureAwait(false);
            await ApplyReplicationAsync(topic, _stop.Token).ConfigureAwait(false);
        }
        catch
        {
            await topic.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        if (await ReadTerminationAsync(name).ConfigureAwait(false) is { } terminatedAt)
            topic.MarkTerminated(terminatedAt);
        BrokerLog.LoadedTopic(_logger, name.ToString(), topic.Ledger.LastConfirmedEntry.ToString());
        return topic;
    }

    /// <summary>
    /// Starts or stops the topic's replicators to match its replication clusters (its own list, else its namespace's),
    /// less this cluster. A list that does not name this cluster replicates nothing from here. A broker built without
    /// replication (no <see cref="Replication.IReplicatorFactory"/>) leaves the topic and its replicator cursors alone.
    /// </summary>
    internal async Task ApplyReplicationAsync(Topic topic, CancellationToken cancellationToken)
    {
        if (_replication is null)
            return;
        var clusters = await Policies.GetReplicationClustersAsync(topic.Name, cancellationToken).ConfigureAwait(false);
        var remotes = clusters.Contains(_options.ClusterName, StringComparer.Ordinal)
            ? clusters.Where(c => !string.Equals(c, _options.ClusterName, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal)
            : [];
        await topic.SetReplicationAsync(remotes, _options.ClusterName, remote => _replication.StartAsync(topic, remote, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _maintenance.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _backlogQuotas.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var name in _topics.Keys.ToList())
            await UnloadAsync(name).ConfigureAwait(false);
        await Policies.DisposeAsync().ConfigureAwait(false);
        Instrumentation.Untrack(this);
        if (_ownsInstrumentation)
            Instrumentation.Dispose();
        _stop.Dispose();
    }
}
