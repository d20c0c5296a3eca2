using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Tiered.Security.Hosting;

/// <summary>
/// Guards the gRPC services only the cluster's own components may call (the metadata service, the bookies): with
/// authentication on, a call needs a valid token (else UNAUTHENTICATED) whose role is a super-user of this process
/// (else PERMISSION_DENIED), so a client cannot write to a bookie or the metadata service directly and bypass the
/// brokers' checks. The components present <c>--component-token-file</c>. Calls of other services in the same process
/// (a standalone's broker) pass untouched: those check their callers themselves. Checked once per call or stream.
/// </summary>
internal sealed class ComponentAccessInterceptor(TieredSecurity security, ComponentServices guarded) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (!security.Enabled || guarded.ServiceOf(context.Method) is not { } service)
            return;
        if (!security.TryAuthenticate(context.GetHttpContext(), out var role, out var refusal))
            throw new RpcException(new Status(StatusCode.Unauthenticated, refusal));
        if (!security.Authorizer.IsSuperUser(role))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"Role '{role}' may not call {service} directly: only the cluster's own components may (roles in --superuser-roles, "
                + "presenting --component-token-file). Clients produce and consume through a broker."));
        }
    }
}

/// <summary>The gRPC services (full names, e.g. <c>tiered.bookie.v1.Bookie</c>) that only components may call, and what each is.</summary>
internal sealed class ComponentServices
{
    private readonly Dictionary<string, string> _services = new(StringComparer.Ordinal);

    public void Add(string serviceName, string what) => _services[serviceName] = what;

    /// <summary>What the service of <paramref name="method"/> (<c>/package.Service/Method</c>) is, or null when it is not guarded.</summary>
    public string? ServiceOf(string method)
    {
        var end = method.IndexOf('/', 1);
        return end > 0 && _services.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(method.AsSpan(1, end - 1), out var what) ? what : null;
    }
}
