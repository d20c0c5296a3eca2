using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Grpc.Core;
using Tiered.Client;
using Tiered.Proto.Tls;
using Tiered.Security.Tokens;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// One standalone serving TLS that takes client certificates as well as tokens (--tls-client-ca-file with
/// --token-secret-key), shared by <see cref="ClientCertificateTests"/>, with client certificates made by the test:
/// CN=cert-admin (a super-user), CN=nobody (no rights), CN=cert-admin signed by another CA, and an expired CN=cert-admin.
/// </summary>
public sealed class ClientCertificateCluster : IAsyncLifetime
{
    public TestCertificates Certificates { get; } = new();

    public Standalone Standalone { get; private set; } = null!;

    public (string Cert, string Key) Admin { get; private set; }

    public (string Cert, string Key) Nobody { get; private set; }

    public (string Cert, string Key) OtherCa { get; private set; }

    public (string Cert, string Key) Expired { get; private set; }

    public string AdminToken { get; private set; } = "";

    public string GrpcUrl => $"https://127.0.0.1:{Standalone.GrpcPort}";

    public string AdminUrl => $"https://127.0.0.1:{Standalone.HttpPort}";

    public async Task InitializeAsync()
    {
        var key = SecretKey.Create();
        var keyFile = Path.Combine(Certificates.Directory, "secret.key");
        key.Write(keyFile);
        AdminToken = TokenIssuer.Create(key, "admin");
        Admin = Certificates.IssueClientCertificate("cert-admin");
        Nobody = Certificates.IssueClientCertificate("nobody");
        OtherCa = Certificates.IssueClientCertificate("cert-admin", byOtherCa: true);
        Expired = Certificates.IssueClientCertificate("cert-admin", expired: true);
        Standalone = new Standalone("--tls-cert-file", Certificates.ServerCertFile, "--tls-key-file", Certificates.ServerKeyFile,
            "--tls-client-ca-file", Certificates.CaFile, "--token-secret-key", keyFile, "--superuser-roles", "admin,cert-admin");
        await Standalone.StartAsync();
    }

    /// <summary>A .NET client trusting the CA, presenting <paramref name="certificate"/> (none when null).</summary>
    public TieredClient Client((string Cert, string Key)? certificate, string? token = null) => new(new TieredClientOptions
    {
        ServiceUrl = GrpcUrl,
        TlsTrustCertsFile = Certificates.CaFile,
        TlsCertificateFile = certificate?.Cert,
        TlsKeyFile = certificate?.Key,
        Token = token,
        OperationTimeout = TimeSpan.FromSeconds(20),
    });

    /// <summary>An HTTP client of the admin API trusting the CA, presenting <paramref name="certificate"/> (none when null).</summary>
    public HttpClient Http((string Cert, string Key)? certificate, string? token = null)
    {
        var tls = ClientTls.Create(Certificates.CaFile, certificate?.Cert, certificate?.Key)!;
        var http = new HttpClient(new SocketsHttpHandler { SslOptions = tls.ClientOptions() }) { BaseAddress = new Uri(AdminUrl), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public Task DisposeAsync()
    {
        Standalone?.Dispose();
        Certificates.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Client certificates as an authentication method: the role is the certificate's CN and goes through the same
/// authorization as a token's; certificates the broker does not trust are refused as unauthenticated with the reason;
/// a token, when sent, is what counts.
/// </summary>
public sealed class ClientCertificateTests(ClientCertificateCluster cluster) : IClassFixture<ClientCertificateCluster>
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_certificate_naming_a_super_user_produces_consumes_and_administers_without_a_token()
    {
        await using (var client = cluster.Client(cluster.Admin))
        {
            await using var consumer = await client.SubscribeAsync(new ConsumerOptions("cert-topic", "s"));
            await using (var producer = await client.CreateProducerAsync(new ProducerOptions("cert-topic")))
            {
                for (var i = 0; i < 3; i++)
                    await producer.SendAsync(Encoding.UTF8.GetBytes($"by certificate {i}"));
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            for (var i = 0; i < 3; i++)
                Assert.Equal($"by certificate {i}", Encoding.UTF8.GetString((await consumer.ReceiveAsync(timeout.Token)).Payload.Span));
        }
        using (var http = cluster.Http(cluster.Admin))
        {
            using var tenants = await http.GetAsync("/admin/v2/tenants");
            Assert.True(tenants.StatusCode == HttpStatusCode.OK, await tenants.Content.ReadAsStringAsync());
        }

        // The CLI presents it with --tls-cert-file and --tls-key-file.
        string[] tls = ["--tls-trust-certs-file", cluster.Certificates.CaFile, "--tls-cert-file", cluster.Admin.Cert, "--tls-key-file", cluster.Admin.Key];
        var (code, output) = await TieredProcess.RunAsync(Run, ["produce", "cert-cli", "--message", "from the cli", "--url", cluster.GrpcUrl, .. tls]);
        Assert.True(code == 0, output);
        (code, output) = await TieredProcess.RunAsync(Run, ["admin", "topics", "stats", "cert-cli", "--admin-url", cluster.AdminUrl, .. tls]);
        Assert.True(code == 0, output);
        Assert.Contains("\"msgInCounter\": 1", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_naming_a_role_without_rights_is_denied_naming_the_role()
    {
        await using (var client = cluster.Client(cluster.Nobody))
        {
            var refused = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("persistent://public/default/not-yours")));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("'nobody'", refused.Message, StringComparison.Ordinal);
        }
        using (var http = cluster.Http(cluster.Nobody))
        {
            using var tenants = await http.GetAsync("/admin/v2/tenants");
            var body = await tenants.Content.ReadAsStringAsync();
            Assert.True(tenants.StatusCode == HttpStatusCode.Forbidden, body);
            Assert.Contains("'nobody'", body, StringComparison.Ordinal);
        }
        var (code, output) = await TieredProcess.RunAsync(Run, "admin", "tenants", "list", "--admin-url", cluster.AdminUrl,
            "--tls-trust-certs-file", cluster.Certificates.CaFile, "--tls-cert-file", cluster.Nobody.Cert, "--tls-key-file", cluster.Nobody.Key);
        Assert.True(code == 1, output);
        Assert.Contains("'nobody'", output, StringComparison.Ordinal);

        // A token, when sent, is what counts: the super-user's token with nobody's certificate is allowed, and a bad
        // token is refused even with the super-user's certificate.
        using (var http = cluster.Http(cluster.Nobody, cluster.AdminToken))
        {
            using var tenants = await http.GetAsync("/admin/v2/tenants");
            Assert.True(tenants.StatusCode == HttpStatusCode.OK, await tenants.Content.ReadAsStringAsync());
        }
        using (var http = cluster.Http(cluster.Admin, TokenIssuer.Create(SecretKey.Create(), "admin")))
        {
            using var tenants = await http.GetAsync("/admin/v2/tenants");
            var body = await tenants.Content.ReadAsStringAsync();
            Assert.True(tenants.StatusCode == HttpStatusCode.Unauthorized, body);
            Assert.Contains("token was refused", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Certificates_of_another_ca_expired_ones_and_no_credential_are_unauthenticated_with_the_reason()
    {
        (string Cert, string Key)?[] certificates = [cluster.OtherCa, cluster.Expired, null];
        string[] reasons = ["is not signed by a CA this broker trusts", "expired on", "Authentication is required"];
        foreach (var (certificate, reason) in certificates.Zip(reasons))
        {
            await using (var client = cluster.Client(certificate))
            {
                var refused = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("cert-refused")));
                Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
                Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
            }
            using var http = cluster.Http(certificate);
            using var response = await http.GetAsync("/admin/v2/clusters");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, body);
            Assert.Contains(reason, body, StringComparison.Ordinal);
        }
        // Nothing was created by the refused producers.
        using var admin = cluster.Http(cluster.Admin);
        using var topics = await admin.GetAsync("/admin/v2/persistent/public/default");
        Assert.DoesNotContain("cert-refused", await topics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unusable_certificate_flags_stop_the_commands_naming_the_flag_and_the_file()
    {
        var missing = Path.Combine(cluster.Certificates.Directory, "missing.pem");
        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "t", "--message", "x", "--url", cluster.GrpcUrl, "--tls-cert-file", cluster.Admin.Cert);
        Assert.True(code == 2, output);
        Assert.Contains("--tls-cert-file is given without --tls-key-file", output, StringComparison.Ordinal);
        (code, output) = await TieredProcess.RunAsync(Run, "admin", "tenants", "list", "--admin-url", cluster.AdminUrl, "--tls-cert-file", missing, "--tls-key-file", cluster.Admin.Key);
        Assert.True(code == 2, output);
        Assert.Contains($"--tls-cert-file: cannot read {missing}", output, StringComparison.Ordinal);
        (code, output) = await TieredProcess.RunAsync(Run, "consume", "t", "--subscription", "s", "--url", cluster.GrpcUrl, "--tls-cert-file", cluster.Admin.Cert, "--tls-key-file", cluster.Nobody.Key);
        Assert.True(code == 2, output);
        Assert.Contains("is the key the certificate's?", output, StringComparison.Ordinal);

        // The server: client certificates need TLS.
        (code, output) = await TieredProcess.RunAsync(Run, "standalone", "--tls-client-ca-file", cluster.Certificates.CaFile,
            "--data-dir", Path.Combine(cluster.Certificates.Directory, "never"), "--grpc-port", "1", "--http-port", "2", "--metadata-port", "3", "--bookie-port", "4");
        Assert.True(code == 2, output);
        Assert.Contains("--tls-client-ca-file needs TLS", output, StringComparison.Ordinal);
    }
}
