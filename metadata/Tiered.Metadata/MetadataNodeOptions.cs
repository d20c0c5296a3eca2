using System.Net;
using Tiered.Hosting;

namespace Tiered.Metadata;

/// <summary>
/// Settings of one metadata node. <see cref="Peers"/> lists the Raft (peer-to-peer) address of
/// every voting node, in the same order on every node; <see cref="NodeId"/> is this node's
/// 1-based position in that list. <see cref="Listen"/> is the gRPC address clients use.
/// </summary>
public sealed record MetadataNodeOptions
{
    public const string DefaultListen = "127.0.0.1:2181";
    public const string DefaultPeer = "127.0.0.1:2281";

    public int NodeId { get; init; } = 1;

    /// <summary>gRPC client address, HOST:PORT.</summary>
    public string Listen { get; init; } = DefaultListen;

    /// <summary>Raft addresses (HOST:PORT) of all voting nodes, this one included.</summary>
    public IReadOnlyList<string> Peers { get; init; } = [DefaultPeer];

    /// <summary>The HTTP/1.1 operations endpoint (/health/live, /health/ready, /metrics), HOST:PORT; null: none.</summary>
    public string? HttpListen { get; init; }

    public string DataDir { get; init; } = "./data/metadata";

    /// <summary>Lower bound of the randomized election timeout; the upper bound is twice this.</summary>
    public TimeSpan ElectionTimeout { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Take a snapshot (and let the log be compacted) every this many applied Raft entries.</summary>
    public int SnapshotEveryEntries { get; init; } = 50_000;

    public HostPort ListenAddress => HostPort.Parse(Listen, "--listen");

    /// <summary>This node's own entry of <see cref="Peers"/>, as written (a name stays a name).</summary>
    public HostPort RaftAddress => HostPort.Parse(Peers[NodeId - 1], "--peers");

    /// <summary>Throws <see cref="ArgumentException"/> with a message that says what to fix.</summary>
    public void Validate()
    {
        if (Peers.Count is not (1 or 3 or 5 or 7))
            throw new ArgumentException($"--peers lists {Peers.Count} nodes; a metadata cluster has 1, 3, 5 or 7 voting nodes (an odd number, so a majority exists).");
        if (NodeId < 1 || NodeId > Peers.Count)
            throw new ArgumentException($"--node-id {NodeId} is out of range: it is this node's 1-based position in --peers (1..{Peers.Count}).");
        if (Peers.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Peers.Count)
            throw new ArgumentException("--peers lists the same address twice.");
        foreach (var peer in Peers)
            _ = HostPort.Parse(peer, "--peers");
        if (ListenAddress == RaftAddress)
            throw new ArgumentException($"--listen {Listen} is also this node's Raft address in --peers; use two different ports.");
        if (HttpListen is not null && HostPort.Parse(HttpListen, "--http-listen") == ListenAddress)
            throw new ArgumentException($"--http-listen {HttpListen} is also the gRPC --listen address; use two different ports.");
        if (string.IsNullOrWhiteSpace(DataDir))
            throw new ArgumentException("--data-dir must name a directory.");
        if (ElectionTimeout < TimeSpan.FromMilliseconds(50) || ElectionTimeout > TimeSpan.FromSeconds(30))
            throw new ArgumentException("The election timeout must be between 50 ms and 30 s.");
        if (SnapshotEveryEntries < 10)
            throw new ArgumentException("Snapshots must be taken at most every 10 entries or more.");
    }
}
