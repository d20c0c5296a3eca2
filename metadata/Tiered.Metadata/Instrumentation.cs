using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Tiered.Metadata.Raft;

namespace Tiered.Metadata;

/// <summary>
/// The metadata node's instruments, on the meter <see cref="MeterName"/>: Raft term, leadership,
/// commit index and the latency of proposals (docs/observability.md). dotNext's own meters
/// (<see cref="DotNextMeterNames"/>) add the Raft transport and write-ahead log. One instance per
/// process (a DI singleton); a node given none makes its own.
/// </summary>
public sealed class Instrumentation : IDisposable
{
    public const string MeterName = "Tiered.Metadata";

    /// <summary>The meters dotNext itself publishes for the Raft server, client and write-ahead log; export them too.</summary>
    public static readonly IReadOnlyList<string> DotNextMeterNames =
    [
        "DotNext.Net.Cluster.Consensus.Raft.Server",
        "DotNext.Net.Cluster.Consensus.Raft.Client",
        "DotNext.IO.WriteAheadLog",
    ];

    /// <summary>Bucket bounds (seconds) for latencies from a fraction of a millisecond to seconds.</summary>
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];

    private readonly ConcurrentDictionary<MetadataNode, byte> _nodes = new();
    private readonly bool _ownsMeter;

    public Instrumentation(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        ProposalLatency = Meter.CreateHistogram("tiered_metadata_proposal_latency", "s",
            "Time from a write's arrival at the leader to its commit and application (group commit over Raft)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        Meter.CreateObservableGauge("tiered_metadata_raft_term", () => Observe(static n => n.Term), null,
            "The Raft term this node is in");
        Meter.CreateObservableGauge("tiered_metadata_raft_is_leader", () => Observe(static n => n.IsLeader ? 1 : 0), null,
            "1 while this node is the Raft leader, else 0");
        Meter.CreateObservableGauge("tiered_metadata_raft_commit_index", () => Observe(static n => n.CommitIndex), null,
            "Index of the last Raft log entry this node knows to be committed");
        Meter.CreateObservableGauge("tiered_metadata_raft_applied_index", () => Observe(static n => n.LastAppliedIndex), null,
            "Index of the last Raft log entry this node applied to its state");
    }

    public Meter Meter { get; }

    /// <summary>Seconds from a proposal's arrival to its result.</summary>
    public Histogram<double> ProposalLatency { get; }

    internal void Track(MetadataNode node) => _nodes.TryAdd(node, 0);

    internal void Untrack(MetadataNode node) => _nodes.TryRemove(node, out _);

    /// <summary>One measurement per node in this process (one, except in tests), labelled by node id.</summary>
    private IEnumerable<Measurement<long>> Observe(Func<MetadataNode, long> read)
    {
        foreach (var node in _nodes.Keys)
            yield return new Measurement<long>(read(node), node.NodeTag);
    }

    /// <summary>Disposes the meter if this instance created it; a factory's meters are the factory's to dispose.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
            Meter.Dispose();
    }
}
