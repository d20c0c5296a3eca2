using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Hosting;

namespace Tiered.Bookie.Server;

/// <summary>
/// The one place where what a bookie call throws becomes a gRPC status. Refusals are answered in
/// the messages themselves (each response's <c>Code</c>, bookie.proto); this maps what escapes a
/// handler: a bookie that is stopping (its storage disposed) is UNAVAILABLE, any other failure
/// INTERNAL with its reason (logged), instead of gRPC's bare UNKNOWN. A call the client ended is
/// passed on as cancelled. Calls through <c>BookieServer.LocalInvoker</c> see the exception itself.
/// </summary>
internal sealed class BookieErrorInterceptor(ILogger<BookieErrorInterceptor> logger) : ErrorMappingInterceptor
{
    protected override Exception? Map(Exception e, ServerCallContext context)
    {
        if (e is RpcException or OperationCanceledException)
            return null;
        if (context.CancellationToken.IsCancellationRequested)
            return new OperationCanceledException("The client ended the call.", e, context.CancellationToken);
        if (e is ObjectDisposedException)
        {
            LogMessages.CallEndedStopping(logger, context.Method);
            return new RpcException(new Status(StatusCode.Unavailable, "The bookie is stopping; use another bookie of the ensemble or retry."));
        }
        LogMessages.CallFailed(logger, context.Method, e);
        return new RpcException(new Status(StatusCode.Internal, $"The bookie failed: {e.Message}"));
    }
}
