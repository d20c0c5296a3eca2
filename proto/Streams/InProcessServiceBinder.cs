using Grpc.Core;

namespace Tiered.Proto.Streams;

/// <summary>
/// Records the handlers a generated <c>BindService(ServiceBinderBase, TService)</c> hands out, by
/// full method name ("/package.Service/Method"), so that <see cref="InProcessCallInvoker"/> can
/// call them directly. The handler delegates are the same ones ASP.NET Core's gRPC binding uses.
/// </summary>
internal sealed class InProcessServiceBinder : ServiceBinderBase
{
    public Dictionary<string, Delegate> Handlers { get; } = new(StringComparer.Ordinal);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) =>
        Add(method, handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        Add(method, handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        Add(method, handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        Add(method, handler);

    private void Add(IMethod method, Delegate? handler)
    {
        // A null handler is how generated code declares a method without an implementation.
        if (handler is not null)
            Handlers[method.FullName] = handler;
    }
}
