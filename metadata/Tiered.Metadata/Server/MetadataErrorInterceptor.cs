using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Tiered.Metadata.Server;

/// <summary>Turns <see cref="MetadataException"/> into a gRPC status plus the "tiered-error" (and "tiered-leader") trailers.</summary>
internal sealed class MetadataErrorInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (MetadataException e)
        {
            throw ToRpc(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (MetadataException e)
        {
            throw ToRpc(e);
        }
    }

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
