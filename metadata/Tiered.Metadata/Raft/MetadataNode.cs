using System.Net;
using DotNext.Net.Cluster.Consensus.Raft;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using Microsoft.Extensions.Logging;
using Tiered.Hosting;
using Tiered.Metadata.State;

namespace Tiered.Metadata.Raft;

/// <summary>
/// One Raft member of the metadata service: the persistent log (DotNext WriteAheadLog, fsync
/// on append), the state machine, group commit, and session expiry. It is also the
/// in-process <see cref="IMetadataStore"/> (see MetadataNode.Store.cs).
/// </summary>
internal sealed partial class MetadataNode : IAsyncDisposable
{
    public const string ClientAddressMetadataKey = "tiered-client-address";

    private readonly MetadataNodeOptions _options;
    private readonly ILogger _logger;
    private readonly MetadataState _state;
    private readonly MetadataStateMachine _stateMachine;
    private readonly WriteAheadLog _log;
    private readonly RaftCluster _cluster;
    private readonly CommandProposer _proposer;
    private readonly SessionKeeper _sessions;
    private readonly TimeProvider _time;
    private readonly Instrumentation _instrumentation;
    private readonly bool _ownsInstrumentation;

    private MetadataNode(MetadataNodeOptions options, string clientAddress, MetadataStateMachine stateMachine, WriteAheadLog log, RaftCluster cluster, TimeProvider time, ILoggerFactory loggerFactory,
        Instrumentation? instrumentation)
    {
        (_options, ClientAddress, _stateMachine, _log, _cluster, _time) = (options, clientAddress, stateMachine, log, cluster, time);
        _ownsInstrumentation = instrumentation is null;
        _instrumentation = instrumentation ?? new Instrumentation(meterFactory: null);
        NodeTag = new KeyValuePair<string, object?>("node", options.NodeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _state = stateMachine.State;
        _logger = loggerFactory.CreateLogger<MetadataNode>();
        _proposer = new CommandProposer(cluster, NotLeader, time, loggerFactory.CreateLogger<CommandProposer>(), _instrumentation);
        _sessions = new SessionKeeper(cluster, _state, (c, t) => _proposer.ProposeAsync(c, t), time, loggerFactory.CreateLogger<SessionKeeper>());
    }

    /// <summary>This node's gRPC address as clients reach it (http://HOST:PORT).</summary>
    public string ClientAddress { get; }

    public IRaftCluster Cluster => _cluster;

    public long LastAppliedIndex => _stateMachine.LastAppliedIndex;

    /// <summary>The Raft term this node is in.</summary>
    public long Term => _cluster.Term;

    /// <summary>Index of the last entry known to be committed.</summary>
    public long CommitIndex => _log.LastCommittedEntryIndex;

    /// <summary>The <c>node</c> label of this node's measurements.</summary>
    internal KeyValuePair<string, object?> NodeTag { get; }

    /// <param name="instrumentation">Where Raft state and proposal latency are measured; null: an instance of its own.</param>
    public static async Task<MetadataNode> StartAsync(MetadataNodeOptions options, string clientAddress, ILoggerFactory loggerFactory, TimeProvider? time = null, CancellationToken cancellationToken = default,
        Instrumentation? instrumentation = null)
    {
        options.Validate();
        time ??= TimeProvider.System;
        var root = Path.GetFullPath(options.DataDir);
        Directory.CreateDirectory(root);

        var stateMachine = new MetadataStateMachine(new DirectoryInfo(Path.Combine(root, "snapshots")), new MetadataState(),
            options.SnapshotEveryEntries, loggerFactory.CreateLogger<MetadataStateMachine>());
        await stateMachine.RestoreAsync(cancellationToken).ConfigureAwait(false);

        var log = new WriteAheadLog(new WriteAheadLog.Options
        {
            Location = Path.Combine(root, "raft-log"),
            ChunkSize = 8 * 1024 * 1024,
            HashAlgorithm = WriteAheadLog.IntegrityHashAlgorithm.Crc32,
        }, stateMachine);
        await log.InitializeAsync(cancellationToken).ConfigureAwait(false);

        var electionMs = (int)options.ElectionTimeout.TotalMilliseconds;
        // A member's identity is its --peers entry as written: a name stays a DnsEndPoint (resolved at each
        // connect), so the node keeps its identity when the name later resolves to another IP. The listener
        // binds what the name resolves to now.
        var configuration = new RaftCluster.TcpConfiguration(await options.RaftAddress.ResolveOneAsync("--peers", cancellationToken).ConfigureAwait(false))
        {
            PublicEndPoint = HostPort.Parse(options.Peers[options.NodeId - 1], "--peers").ToEndPoint(),
            LowerElectionTimeout = electionMs,
            UpperElectionTimeout = electionMs * 2,
            RequestTimeout = TimeSpan.FromMilliseconds(electionMs * 0.9),
            ColdStart = false,
            ConfigurationStorage = null,
            LoggerFactory = loggerFactory,
            TransmissionBlockSize = 65_536,
        };
        configuration.Metadata[ClientAddressMetadataKey] = clientAddress;
        var members = ((InMemoryClusterConfigurationStorage<EndPoint>)configuration.ConfigurationStorage!).CreateInitialConfigurationBuilder();
        for (var i = 0; i < options.Peers.Count; i++)
            members.Add(HostPort.Parse(options.Peers[i], "--peers").ToEndPoint());
        members.Build();

        var cluster = new RaftCluster(configuration) { AuditTrail = log };
        await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
        var node = new MetadataNode(options, clientAddress, stateMachine, log, cluster, time, loggerFactory, instrumentation);
        node._instrumentation.Track(node);
        LogMessages.Started(node._logger, options.NodeId, clientAddress, options.Peers[options.NodeId - 1], stateMachine.State.Revision);
        return node;
    }

    /// <summary>The leader's client address if this node knows it, else null.</summary>
    public string? LeaderClientAddress
    {
        get
        {
            if (_cluster.Leader is not { } leader)
                return null;
            if (!leader.IsRemote)
                return ClientAddress;
            return leader.TryGetMetadata() is { } metadata && metadata.TryGetValue(ClientAddressMetadataKey, out var address) ? address : null;
        }
    }

    public bool IsLeader => !_cluster.LeadershipToken.IsCancellationRequested;

    private MetadataException NotLeader()
    {
        var leader = LeaderClientAddress;
        if (leader is null && _cluster.Leader is { IsRemote: true } remote)
        {
            // Warm the cache for the next caller; a failure only means the redirect stays unknown.
            _ = remote.GetMetadataAsync(refresh: true, CancellationToken.None).AsTask()
                .ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        return new MetadataException(MetadataErrorCode.NotLeader,
            leader is null ? "This metadata node is not the leader and no leader is known yet; retry shortly." : $"This metadata node is not the leader; the leader is {leader}.",
            leader);
    }

    public async Task WaitForLeaderAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                while (_cluster.Leader is null)
                    await Task.Delay(20, cts.Token).ConfigureAwait(false);
                try
                {
                    await ReadBarrierAsync(cts.Token).ConfigureAwait(false);
                    return;
                }
                catch (MetadataException e) when (e.Code == MetadataErrorCode.Unavailable)
                {
                    // The leader seen a moment ago lost its term (an election right after start): wait for the next.
                    await Task.Delay(20, cts.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No metadata leader was elected within {timeout.TotalSeconds:0.#} s; check that a majority of --peers is running and reachable.");
        }
    }

    private int _disposed;

    /// <summary>Stops the node; later calls do nothing (the host and its container both dispose it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _instrumentation.Untrack(this);
        await _sessions.DisposeAsync().ConfigureAwait(false);
        await _proposer.DisposeAsync().ConfigureAwait(false);
        await _cluster.StopAsync(CancellationToken.None).ConfigureAwait(false);
        _cluster.Dispose();
        await _log.DisposeAsync().ConfigureAwait(false);
        await _stateMachine.DisposeAsync().ConfigureAwait(false);
        if (_ownsInstrumentation)
            _instrumentation.Dispose();
    }
}
