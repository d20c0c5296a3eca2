using Tiered.Broker.Topics;

namespace Tiered.Broker.Replication;

/// <summary>
/// One topic's replication to one remote cluster, as the broker sees it: what the topic's stats show, and stopping
/// it when the topic unloads (its cursor, <see cref="Topic.ReplicatorCursorPrefix"/> + the remote's name, stays for
/// the next owner). The replicators themselves live in the replication assembly (<c>Tiered.Replication</c>).
/// </summary>
public interface IReplicator : IAsyncDisposable
{
    string Remote { get; }

    /// <summary>Whether a stream to the remote owner is open.</summary>
    bool Connected { get; }

    /// <summary>Why the last attempt failed (null while all is well); for a permanent refusal, why replication stopped.</summary>
    string? LastError { get; }

    /// <summary>Replication of this topic to the remote gave up (the remote refused a batch for good).</summary>
    bool Stopped { get; }

    /// <summary>Entries not yet acknowledged by the remote.</summary>
    long Backlog { get; }

    long MessagesOut { get; }

    long BytesOut { get; }

    /// <summary>How old the oldest message not yet acknowledged by the remote is, in seconds (0 when none is pending).</summary>
    double DelaySeconds { get; }

    Rates SampleRates();
}

/// <summary>
/// Starts a topic's replicator to a remote cluster. Registered by the replication assembly
/// (<c>AddTieredReplication</c>); a broker without it replicates nothing and leaves replicator cursors as they are.
/// </summary>
public interface IReplicatorFactory
{
    /// <summary>Opens (or creates, at the earliest retained message) the replicator's cursor and starts replicating.</summary>
    Task<IReplicator> StartAsync(Topic topic, string remote, CancellationToken cancellationToken);
}
