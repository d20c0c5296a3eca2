namespace Tiered.Metadata;

/// <summary>Stable reasons a metadata operation fails; each maps to one gRPC status and trailer code.</summary>
public enum MetadataErrorCode
{
    /// <summary>The key is not a valid path (see <see cref="KeyPath"/>).</summary>
    BadKey,
    /// <summary>The value is larger than <see cref="KeyPath.MaxValueBytes"/>.</summary>
    ValueTooLarge,
    /// <summary>Any other malformed argument.</summary>
    InvalidArgument,
    /// <summary>The expected version did not match the stored one. Nothing was changed.</summary>
    BadVersion,
    /// <summary>The session is unknown or has expired.</summary>
    SessionNotFound,
    /// <summary>A watch asked for a revision older than the history this node keeps.</summary>
    Compacted,
    /// <summary>This node is not the leader; <see cref="MetadataException.LeaderAddress"/> names it when known.</summary>
    NotLeader,
    /// <summary>No leader or no majority is reachable right now; retry later.</summary>
    Unavailable,
    /// <summary>The request reached a node that failed before answering: it may or may not have been applied.</summary>
    OutcomeUnknown,
}

/// <summary>A metadata operation failed for the reason in <see cref="Code"/>; nothing stored was changed unless the code is <see cref="MetadataErrorCode.OutcomeUnknown"/>.</summary>
public sealed class MetadataException(MetadataErrorCode code, string message, string? leaderAddress = null, Exception? inner = null)
    : Exception(message, inner)
{
    public MetadataErrorCode Code { get; } = code;

    /// <summary>For <see cref="MetadataErrorCode.NotLeader"/>: the client address of the current leader, if known.</summary>
    public string? LeaderAddress { get; } = leaderAddress;

    /// <summary>The code as it travels in the "tiered-error" gRPC trailer.</summary>
    public string WireCode => ToWire(Code);

    internal static string ToWire(MetadataErrorCode code) => code switch
    {
        MetadataErrorCode.BadKey => "bad-key",
        MetadataErrorCode.ValueTooLarge => "value-too-large",
        MetadataErrorCode.InvalidArgument => "invalid-argument",
        MetadataErrorCode.BadVersion => "bad-version",
        MetadataErrorCode.SessionNotFound => "session-not-found",
        MetadataErrorCode.Compacted => "compacted",
        MetadataErrorCode.NotLeader => "not-leader",
        MetadataErrorCode.Unavailable => "no-quorum",
        _ => "outcome-unknown",
    };

    internal static MetadataErrorCode? FromWire(string? wire) => wire switch
    {
        "bad-key" => MetadataErrorCode.BadKey,
        "value-too-large" => MetadataErrorCode.ValueTooLarge,
        "invalid-argument" => MetadataErrorCode.InvalidArgument,
        "bad-version" => MetadataErrorCode.BadVersion,
        "session-not-found" => MetadataErrorCode.SessionNotFound,
        "compacted" => MetadataErrorCode.Compacted,
        "not-leader" => MetadataErrorCode.NotLeader,
        "no-quorum" => MetadataErrorCode.Unavailable,
        "outcome-unknown" => MetadataErrorCode.OutcomeUnknown,
        _ => null,
    };
}
