namespace Tiered.Metadata;

/// <summary>Names shared by the gRPC server and client.</summary>
public static class MetadataWire
{
    /// <summary>Trailer with the stable error code (see <see cref="MetadataErrorCode"/>).</summary>
    public const string ErrorTrailer = "tiered-error";

    /// <summary>Trailer with the leader's client address on a not-leader error.</summary>
    public const string LeaderTrailer = "tiered-leader";

    /// <summary>Response header of a watch: the revision after which it delivers events.</summary>
    public const string RevisionHeader = "tiered-revision";
}
