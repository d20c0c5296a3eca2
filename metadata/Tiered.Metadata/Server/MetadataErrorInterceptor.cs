using Grpc.Core;
using Tiered.Hosting;

namespace Tiered.Metadata.Server;

/// <summary>Turns <see cref="MetadataException"/> into a gRPC status plus the "tiered-error" (and "tiered-leader") trailers.</summary>
internal sealed class MetadataErrorInterceptor : ErrorMappingInterceptor
{
    protected override Exception? Map(Exception exception, ServerCallContext context) => exception is MetadataException e ? ToRpc(e) : null;

    public static RpcException ToRpc(MetadataException e)
    {
        var code = e.Code switch
        {
            MetadataErrorCode.BadKey or MetadataErrorCode.ValueTooLarge or MetadataErrorCode.InvalidArgument => StatusCode.InvalidArgument,
            MetadataErrorCode.BadVersion => StatusCode.FailedPrecondition,
            MetadataErrorCode.SessionNotFound => StatusCode.NotFound,
            MetadataErrorCode.Compacted => StatusCode.OutOfRange,
            MetadataErrorCode.NotLeader or MetadataErrorCode.Unavailable => StatusCode.Unavailable,
            _ => StatusCode.Aborted,
        };
        var trailers = new Grpc.Core.Metadata { { MetadataWire.ErrorTrailer, e.WireCode } };
        if (e.LeaderAddress is { } leader)
            trailers.Add(MetadataWire.LeaderTrailer, leader);
        return new RpcException(new Status(code, e.Message), trailers);
    }
}
