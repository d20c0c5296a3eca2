using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Tiered.Hosting;

/// <summary>
/// Keeps each endpoint on the ports it belongs to: one Kestrel server carries the metadata,
/// bookie and broker gRPC services and the HTTP endpoints of a process, and a bookie's service
/// must not answer on the broker's client port. Filters on the port the connection arrived on,
/// not on the Host header (a proxy or a Kubernetes Service may rewrite that).
/// </summary>
public static class LocalPortFilter
{
    /// <summary>Answers the endpoint only on connections to one of <paramref name="ports"/>; 404 elsewhere.</summary>
    public static TBuilder RequireLocalPort<TBuilder>(this TBuilder builder, params IReadOnlyList<int> ports)
        where TBuilder : IEndpointConventionBuilder
        => builder.WithMetadata(new LocalPorts(ports));

    internal static IApplicationBuilder UseLocalPortFilter(this IApplicationBuilder app) => app.Use(static (context, next) =>
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<LocalPorts>() is { } ports && !ports.Ports.Contains(context.Connection.LocalPort))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        return next(context);
    });

    private sealed record LocalPorts(IReadOnlyList<int> Ports);
}
