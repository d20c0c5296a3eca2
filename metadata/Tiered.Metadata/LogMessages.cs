using Microsoft.Extensions.Logging;

namespace Tiered.Metadata;

/// <summary>The metadata node's log messages: event ids 1000–1999 (see docs/observability.md).</summary>
internal static partial class LogMessages
{
    [LoggerMessage(EventId = 1001, EventName = nameof(ApplyFailed), Level = LogLevel.Error, Message = "Applying command {Command} of Raft entry {Index} failed")]
    public static partial void ApplyFailed(ILogger logger, Exception e, long index, int command);

    [LoggerMessage(EventId = 1002, EventName = nameof(Restored), Level = LogLevel.Information, Message = "Restored snapshot {File}: revision {Revision}, {Keys} keys")]
    public static partial void Restored(ILogger logger, string file, long revision, int keys);

    [LoggerMessage(EventId = 1011, EventName = nameof(ReplicationFailed), Level = LogLevel.Warning, Message = "Replicating a batch of {Count} commands failed")]
    public static partial void ReplicationFailed(ILogger logger, Exception e, int count);

    [LoggerMessage(EventId = 1021, EventName = nameof(Expiring), Level = LogLevel.Information, Message = "Session {SessionId} missed its heartbeats for longer than its TTL; expiring it")]
    public static partial void Expiring(ILogger logger, long sessionId);

    [LoggerMessage(EventId = 1031, EventName = nameof(Started), Level = LogLevel.Information, Message = "Metadata node {NodeId} started: clients {ClientAddress}, raft {RaftAddress}, state at revision {Revision}")]
    public static partial void Started(ILogger logger, int nodeId, string clientAddress, string raftAddress, long revision);
}
