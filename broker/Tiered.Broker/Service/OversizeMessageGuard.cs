using System.Buffers;
using System.Buffers.Binary;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace Tiered.Broker.Service;

/// <summary>
/// Answers RESOURCE_EXHAUSTED to a unary gRPC call whose message claims to be larger than the
/// broker accepts. Grpc.AspNetCore reads a unary request before any service code runs and turns
/// a length prefix above 2 GiB (up to 4 GiB fits in the prefix) into an unexpected IOException,
/// logged as a failure and answered UNKNOWN; smaller oversize prefixes it refuses itself. This
/// looks at the prefix without consuming it, so the gRPC handler reads the request as if nothing
/// had. Streams are left alone: their messages are read inside the service, where
/// <see cref="BrokerErrorInterceptor"/> maps the same IOException, and reading their body here,
/// before Grpc.AspNetCore lifts Kestrel's minimum request body data rate for streams, would let
/// Kestrel close an idle consumer's whole connection after a few seconds.
/// </summary>
internal sealed class OversizeMessageGuard(RequestDelegate next, long maxMessageBytes)
{
    private const int PrefixLength = 5;

    public async Task InvokeAsync(HttpContext context)
    {
        uint? length;
        try
        {
            // Only the broker's own unary methods: the process may host a bookie or metadata node too.
            length = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method is { Type: MethodType.Unary } method
                && method.ServiceName == V1.Messaging.Descriptor.FullName
                ? await DeclaredLengthAsync(context).ConfigureAwait(false)
                : null;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // The client left before sending a message.
        }
        if (length > maxMessageBytes)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "8";
            context.Response.Headers["grpc-message"] = $"The request message claims {length} bytes; this broker accepts at most {maxMessageBytes}.";
            return;
        }
        await next(context).ConfigureAwait(false);
    }

    private static async Task<uint?> DeclaredLengthAsync(HttpContext context)
    {
        var body = context.Request.BodyReader;
        var read = await body.ReadAtLeastAsync(PrefixLength, context.RequestAborted).ConfigureAwait(false);
        var buffer = read.Buffer;
        uint? length = null;
        if (buffer.Length >= PrefixLength)
        {
            Span<byte> prefix = stackalloc byte[PrefixLength];
            buffer.Slice(0, PrefixLength).CopyTo(prefix);
            length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
        }
        // Nothing consumed, nothing examined: the gRPC handler's first read sees the same bytes at once.
        body.AdvanceTo(buffer.Start, buffer.Start);
        return length;
    }
}
