using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Tiered.Hosting;
using Tiered.Proto.Tls;
using Tiered.Security.Hosting;
using Tiered.Testing;

namespace Tiered.Security.Tests;

/// <summary>
/// Client certificates as the only authentication method (no token key), on a real TLS listener in this process: an
/// endpoint answers the role <see cref="TieredSecurity.TryAuthenticate"/> found, or its refusal. The broker-level
/// cases (authorization, tokens beside certificates, the CLI) are in Tiered.Tests.Cluster's ClientCertificateTests.
/// </summary>
public sealed class ClientCertificateHostingTests : IDisposable
{
    private readonly TestCertificates _certificates = new();

    [Fact]
    public async Task Without_a_token_key_the_certificate_is_the_only_way_in()
    {
        var (port, app) = await StartAsync(require: false);
        await using var _ = app;
        var ops = _certificates.IssueClientCertificate("ops");

        var (status, body) = await WhoAmIAsync(port, ops);
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Equal("ops", body);
        (status, body) = await WhoAmIAsync(port, null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("present a client certificate", body, StringComparison.Ordinal);
        // Tokens are not a method here: one sent is ignored, and the certificate decides.
        (status, body) = await WhoAmIAsync(port, null, token: "eyJhbGciOiJIUzI1NiJ9.e30.x");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("present a client certificate", body, StringComparison.Ordinal);
        (status, body) = await WhoAmIAsync(port, ops, token: "eyJhbGciOiJIUzI1NiJ9.e30.x");
        Assert.Equal("ops", body);
        (status, body) = await WhoAmIAsync(port, _certificates.IssueClientCertificate("ops", byOtherCa: true));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("The client certificate was refused", body, StringComparison.Ordinal);
        Assert.Contains("is not signed by a CA this broker trusts (--tls-client-ca-file)", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Required_client_certificates_fail_handshakes_without_one()
    {
        var (port, app) = await StartAsync(require: true);
        await using var _ = app;
        var (status, body) = await WhoAmIAsync(port, _certificates.IssueClientCertificate("ops"));
        Assert.Equal("ops", body);
        await Assert.ThrowsAsync<HttpRequestException>(() => WhoAmIAsync(port, null));
    }

    [Fact]
    public void Client_certificates_need_tls_and_a_readable_ca_file()
    {
        var builder = TieredHost.CreateBuilder();
        var refused = Assert.Throws<ArgumentException>(() => builder.AddTieredSecurity(new SecurityOptions { TlsClientCaFile = _certificates.CaFile }));
        Assert.Contains("--tls-client-ca-file needs TLS", refused.Message, StringComparison.Ordinal);

        builder = TieredHost.CreateBuilder();
        TieredListeners.Of(builder).UseTls(ServerCertificate());
        var missing = Path.Combine(_certificates.Directory, "missing.pem");
        refused = Assert.Throws<ArgumentException>(() => builder.AddTieredSecurity(new SecurityOptions { TlsClientCaFile = missing }));
        Assert.Equal($"--tls-client-ca-file: cannot read {missing}: it does not exist.", refused.Message);

        refused = Assert.Throws<ArgumentException>(() => new SecurityOptions { TlsRequireClientCertificate = true }.Validate());
        Assert.Contains("--tls-require-client-cert needs --tls-client-ca-file", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _certificates.Dispose();

    private System.Security.Cryptography.X509Certificates.X509Certificate2 ServerCertificate()
        => new TlsOptions { CertFile = _certificates.ServerCertFile, KeyFile = _certificates.ServerKeyFile }.Load()!;

    private async Task<(int Port, WebApplication App)> StartAsync(bool require)
    {
        var builder = TieredHost.CreateBuilder();
        var listeners = TieredListeners.Of(builder);
        listeners.UseTls(ServerCertificate());
        var port = listeners.Http($"127.0.0.1:{TieredProcess.FreePort()}", "--http-listen")!.Value;
        builder.AddTieredSecurity(new SecurityOptions { TlsClientCaFile = _certificates.CaFile, TlsRequireClientCertificate = require, SuperUserRoles = ["ops"] });
        builder.Services.AddSingleton<ITieredEndpoints, WhoAmI>();
        return (port, await TieredHost.StartAsync(builder));
    }

    private async Task<(HttpStatusCode Status, string Body)> WhoAmIAsync(int port, (string Cert, string Key)? certificate, string? token = null)
    {
        var tls = ClientTls.Create(_certificates.CaFile, certificate?.Cert, certificate?.Key)!;
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = tls.ClientOptions() }) { Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.GetAsync($"https://127.0.0.1:{port}/whoami");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private sealed class WhoAmI : ITieredEndpoints
    {
        public void Map(WebApplication app) => app.MapGet("/whoami", (HttpContext context, TieredSecurity security)
            => security.TryAuthenticate(context, out var role, out var refusal) ? Results.Text(role) : Results.Text(refusal, statusCode: 401));
    }
}
