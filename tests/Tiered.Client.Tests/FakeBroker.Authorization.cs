using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Tiered.Client.Tests;

internal sealed partial class FakeBroker
{
    /// <summary>Every call received, in arrival order: its method (Lookup, Produce, …) and its authorization metadata (null when absent).</summary>
    public ConcurrentQueue<(string Method, string? Authorization)> Calls { get; } = new();

    /// <summary>The authorization metadata of each call of <paramref name="method"/>, in arrival order.</summary>
    public List<string?> AuthorizationsOf(string method) => [.. Calls.Where(c => c.Method == method).Select(c => c.Authorization)];

    /// <summary>Records the method and authorization metadata of each call before the service sees it.</summary>
    internal sealed class AuthorizationRecorder(FakeBroker broker) : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(request, context);
        }

        public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
            IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(requestStream, responseStream, context);
        }

        public override Task ServerStreamingServerHandler<TRequest, TResponse>(
            TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(request, responseStream, context);
        }

        public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
            IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        {
            Record(context);
            return continuation(requestStream, context);
        }

        private void Record(ServerCallContext context)
            => broker.Calls.Enqueue((context.Method[(context.Method.LastIndexOf('/') + 1)..], context.RequestHeaders.GetValue("authorization")));
    }
}
