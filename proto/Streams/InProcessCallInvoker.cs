using Grpc.Core;

namespace Tiered.Proto.Streams;

/// <summary>
/// Calls a gRPC service implementation in the same process without a network, serialization or
/// HTTP/2: a generated client built on this invoker (<c>new Foo.FooClient(invoker)</c>) behaves
/// like one over a channel: the same status codes, <see cref="RpcException"/>s, cancellation,
/// deadlines, back-pressure and stream completion, so code above it cannot tell the difference.
/// Messages are passed by reference: the client and the service must treat requests and
/// responses as immutable once sent (the generated protobuf messages of our services are used so,
/// and the payload bytes they carry are never reused by either side).
/// </summary>
public sealed class InProcessCallInvoker : CallInvoker
{
    private readonly Dictionary<string, Delegate> _handlers;
    private readonly CancellationTokenSource _shutdown = new();

    /// <param name="bindService">The generated binding, e.g. <c>binder =&gt; Foo.BindService(binder, service)</c>.</param>
    public InProcessCallInvoker(Action<ServiceBinderBase> bindService)
    {
        ArgumentNullException.ThrowIfNull(bindService);
        var binder = new InProcessServiceBinder();
        bindService(binder);
        _handlers = binder.Handlers;
    }

    /// <summary>
    /// Ends the calls in flight and refuses new ones with <see cref="StatusCode.Unavailable"/>, as a
    /// server that stops does; callers fail over exactly as they would over the network.
    /// </summary>
    public void Shutdown() => _shutdown.Cancel();

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        // Blocking is what the caller asked for; the handler itself runs on the thread pool.
        AsyncUnaryCall(method, host, options, request).ResponseAsync.GetAwaiter().GetResult();

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new InProcessCall<TRequest, TResponse>(method.FullName, host, options, streamsRequests: false, streamsResponses: false, _shutdown.Token);
        var handler = Handler<UnaryServerMethod<TRequest, TResponse>>(method);
        call.Start(handler is null ? null : c => handler(request, c.Context));
        return new AsyncUnaryCall<TResponse>(call.ResponseAsync(), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var call = new InProcessCall<TRequest, TResponse>(method.FullName, host, options, streamsRequests: false, streamsResponses: true, _shutdown.Token);
        var handler = Handler<ServerStreamingServerMethod<TRequest, TResponse>>(method);
        call.Start(handler is null ? null : c => handler(request, c.ServerResponses!, c.Context));
        return new AsyncServerStreamingCall<TResponse>(call.ClientResponses!, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = new InProcessCall<TRequest, TResponse>(method.FullName, host, options, streamsRequests: true, streamsResponses: false, _shutdown.Token);
        var handler = Handler<ClientStreamingServerMethod<TRequest, TResponse>>(method);
        call.Start(handler is null ? null : c => handler(c.ServerRequests!, c.Context));
        return new AsyncClientStreamingCall<TRequest, TResponse>(call.ClientRequests!, call.ResponseAsync(), call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
    {
        var call = new InProcessCall<TRequest, TResponse>(method.FullName, host, options, streamsRequests: true, streamsResponses: true, _shutdown.Token);
        var handler = Handler<DuplexStreamingServerMethod<TRequest, TResponse>>(method);
        call.Start(handler is null ? null : c => handler(c.ServerRequests!, c.ServerResponses!, c.Context));
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call.ClientRequests!, call.ClientResponses!, call.ResponseHeadersAsync, call.GetStatus, call.GetTrailers, call.Dispose);
    }

    /// <summary>The method's handler; null (Unimplemented) when the service has none of that kind.</summary>
    private TDelegate? Handler<TDelegate>(IMethod method)
        where TDelegate : Delegate =>
        _handlers.TryGetValue(method.FullName, out var handler) ? handler as TDelegate : null;
}
