using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;

namespace Tiered.Hosting;

/// <summary>
/// The endpoints of one process's Kestrel server, as the roles ask for them: gRPC endpoints
/// speak HTTP/2 (cleartext, prior knowledge), HTTP endpoints HTTP/1.1 (admin API, health,
/// metrics). Two roles may share an HTTP endpoint (standalone serves everything on one HTTP
/// port); an endpoint asked for with both protocols is a configuration error.
/// </summary>
public sealed class TieredListeners
{
    private readonly Dictionary<IPEndPoint, HttpProtocols> _endpoints = [];

    /// <summary>The listeners of <paramref name="builder"/>'s host, created on first use.</summary>
    public static TieredListeners Of(IHostApplicationBuilder builder)
    {
        if (!builder.Properties.TryGetValue(typeof(TieredListeners), out var listeners))
            builder.Properties[typeof(TieredListeners)] = listeners = new TieredListeners();
        return (TieredListeners)listeners;
    }

    /// <summary>Ports of the HTTP/1.1 endpoints: where the operations endpoints answer.</summary>
    public IReadOnlyList<int> HttpPorts => Ports(HttpProtocols.Http1);

    /// <summary>Ports of the gRPC endpoints.</summary>
    public IReadOnlyList<int> GrpcPorts => Ports(HttpProtocols.Http2);

    /// <summary>Adds a gRPC endpoint; returns its port, for <see cref="LocalPortFilter.RequireLocalPort"/>.</summary>
    public int Grpc(IPEndPoint endPoint, string setting) => Add(endPoint, HttpProtocols.Http2, setting);

    /// <summary>Adds an HTTP/1.1 endpoint (or shares one already added); returns its port.</summary>
    public int Http(IPEndPoint endPoint, string setting) => Add(endPoint, HttpProtocols.Http1, setting);

    internal void Apply(KestrelServerOptions kestrel)
    {
        foreach (var (endPoint, protocols) in _endpoints)
            kestrel.Listen(endPoint, listen => listen.Protocols = protocols);
    }

    private int Add(IPEndPoint endPoint, HttpProtocols protocols, string setting)
    {
        if (endPoint.Port == 0)
            throw new ArgumentException($"{setting}: give a port other than 0.", setting);
        foreach (var (existing, existingProtocols) in _endpoints)
        {
            if (existing.Port == endPoint.Port && (existingProtocols != protocols || !existing.Equals(endPoint)) && Overlap(existing.Address, endPoint.Address))
                throw new ArgumentException($"{setting}: port {endPoint.Port} is already used by another endpoint of this process; give each endpoint its own port.", setting);
        }
        _endpoints[endPoint] = protocols;
        return endPoint.Port;
    }

    private static bool Overlap(IPAddress a, IPAddress b)
        => a.Equals(b) || a.Equals(IPAddress.Any) || b.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any) || b.Equals(IPAddress.IPv6Any);

    private List<int> Ports(HttpProtocols protocols) => _endpoints.Where(e => e.Value == protocols).Select(e => e.Key.Port).Distinct().ToList();
}
