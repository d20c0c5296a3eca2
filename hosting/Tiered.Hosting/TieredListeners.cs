using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Hosting;

namespace Tiered.Hosting;

/// <summary>
/// The endpoints of one process's Kestrel server, as the roles ask for them: gRPC endpoints
/// speak HTTP/2 (cleartext, prior knowledge), HTTP endpoints HTTP/1.1 (admin API, health,
/// metrics). With a certificate (<see cref="UseTls"/>) every endpoint serves TLS: gRPC endpoints HTTP/2 chosen by
/// ALPN, HTTP endpoints HTTPS. Two roles may share an HTTP endpoint (standalone serves everything on one HTTP
/// port); an endpoint asked for with both protocols is a configuration error.
/// </summary>
public sealed class TieredListeners
{
    private readonly Dictionary<HostPort, (HttpProtocols Protocols, string Setting)> _endpoints = [];

    /// <summary>The listeners of <paramref name="builder"/>'s host, created on first use.</summary>
    public static TieredListeners Of(IHostApplicationBuilder builder)
    {
        if (!builder.Properties.TryGetValue(typeof(TieredListeners), out var listeners))
            builder.Properties[typeof(TieredListeners)] = listeners = new TieredListeners();
        return (TieredListeners)listeners;
    }

    /// <summary>Every endpoint's address, with the setting that gave it.</summary>
    public IEnumerable<(HostPort Address, string Setting)> Addresses => _endpoints.Select(e => (e.Key, e.Value.Setting));

    /// <summary>The server certificate every endpoint serves TLS with; null: cleartext.</summary>
    public X509Certificate2? Certificate { get; private set; }

    /// <summary>"https" when the endpoints serve TLS, else "http": the scheme of the URLs a role advertises and prints.</summary>
    public string Scheme => Certificate is null ? "http" : "https";

    /// <summary>Serves every endpoint of the process with TLS and <paramref name="certificate"/> (from <see cref="TlsOptions.Load"/>).</summary>
    public void UseTls(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>
    /// Whether TLS handshakes ask clients for a certificate: <see cref="ClientCertificateMode.NoCertificate"/> (the
    /// default), <see cref="ClientCertificateMode.AllowCertificate"/> or <see cref="ClientCertificateMode.RequireCertificate"/>.
    /// </summary>
    public ClientCertificateMode ClientCertificates { get; private set; } = ClientCertificateMode.NoCertificate;

    /// <summary>
    /// Asks every TLS client for a certificate (only allowed, or required: a handshake without one then fails). The
    /// handshake accepts any certificate: authentication checks it afterwards and refuses an untrusted one with its
    /// reason (401 / UNAUTHENTICATED), which a failed handshake could not tell the client.
    /// </summary>
    public void AskForClientCertificates(bool require)
        => ClientCertificates = require ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;

    /// <summary>Ports of the HTTP/1.1 endpoints: where the operations endpoints answer.</summary>
    public IReadOnlyList<int> HttpPorts => Ports(HttpProtocols.Http1);

    /// <summary>
    /// Adds a gRPC endpoint at <paramref name="address"/> (HOST:PORT of <paramref name="setting"/>; HOST an IP,
    /// 0.0.0.0 or ::, or a name: every address it resolves to when the server binds); returns its port, for
    /// <see cref="LocalPortFilter.RequireLocalPort"/>.
    /// </summary>
    public int Grpc(string address, string setting) => Add(HostPort.Parse(address, setting), HttpProtocols.Http2, setting);

    /// <summary>Adds an HTTP/1.1 endpoint (or shares one already added); returns its port. Null: none.</summary>
    public int? Http(string? address, string setting) => address is null ? null : Add(HostPort.Parse(address, setting), HttpProtocols.Http1, setting);

    internal void Apply(KestrelServerOptions kestrel)
    {
        foreach (var (address, (protocols, setting)) in _endpoints)
        {
            foreach (var endPoint in address.Resolve(setting))
                kestrel.Listen(endPoint, listen =>
                {
                    listen.Protocols = protocols;
                    if (Certificate is { } certificate)
                        listen.UseHttps(Https(certificate));
                });
        }
    }

    private HttpsConnectionAdapterOptions Https(X509Certificate2 certificate)
    {
        var https = new HttpsConnectionAdapterOptions { ServerCertificate = certificate, ClientCertificateMode = ClientCertificates };
        if (ClientCertificates != ClientCertificateMode.NoCertificate)
            https.AllowAnyClientCertificate();
        return https;
    }

    private int Add(HostPort address, HttpProtocols protocols, string setting)
    {
        var port = address.Port;
        foreach (var (existing, (existingProtocols, existingSetting)) in _endpoints)
        {
            if (existing.Port != port)
                continue;
            var overlap = existing == address || address.IsWildcard || existing.IsWildcard;
            if (existingProtocols != protocols && overlap)
                throw new ArgumentException($"{setting}: port {port} is already used by {existingSetting} of this process; give each endpoint its own port.", setting);
            if (existing != address && (address.IsWildcard || existing.IsWildcard))
                throw new ArgumentException($"{setting}: port {port} is already used by {existingSetting} of this process on another address; use the same address or another port.", setting);
        }
        _endpoints.TryAdd(address, (protocols, setting));
        return port;
    }

    private List<int> Ports(HttpProtocols protocols) => _endpoints.Where(e => e.Value.Protocols == protocols).Select(e => e.Key.Port).Distinct().ToList();
}
