using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>
/// TlsCertificateFile and TlsKeyFile are checked when the client is created: both or neither, and files that cannot
/// be used are refused naming the file and the option (what presenting the certificate does is in Tiered.Tests.Cluster's ClientCertificateTests).
/// </summary>
public sealed class ClientCertificateOptionsTests : IDisposable
{
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public void A_certificate_without_its_key_or_a_key_without_its_certificate_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new TieredClientOptions { TlsCertificateFile = _certificates.ServerCertFile }.Validate());
        Assert.Contains("TlsCertificateFile and TlsKeyFile together", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => new TieredClientOptions { TlsKeyFile = _certificates.ServerKeyFile }.Validate());
        Assert.Contains("TlsCertificateFile and TlsKeyFile together", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unusable_files_are_refused_when_the_client_is_created_naming_the_file()
    {
        var (cert, key) = _certificates.IssueClientCertificate("app");
        var missing = Path.Combine(_certificates.Directory, "missing.pem");
        var encrypted = _certificates.Write("encrypted-key.pem", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
        foreach (var (certificateFile, keyFile, expected) in new[]
        {
            (missing, key, $"TlsCertificateFile (--tls-cert-file): cannot read {missing}: it does not exist."),
            (cert, missing, $"TlsKeyFile (--tls-key-file): cannot read {missing}: it does not exist."),
            (key, key, "holds no PEM certificate"),
            (cert, encrypted, "holds an encrypted private key"),
            (cert, _certificates.ServerKeyFile, "is the key the certificate's?"),
        })
        {
            var e = Assert.Throws<ArgumentException>(() => new TieredClient(new TieredClientOptions
            {
                ServiceUrl = "https://127.0.0.1:6650",
                TlsCertificateFile = certificateFile,
                TlsKeyFile = keyFile,
            }));
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        }
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = "https://127.0.0.1:6650", TlsCertificateFile = cert, TlsKeyFile = key });
    }
}
