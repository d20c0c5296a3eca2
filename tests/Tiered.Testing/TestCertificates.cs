using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tiered.Testing;

/// <summary>
/// A throw-away PKI for TLS tests, made with <see cref="CertificateRequest"/> and written as PEM files into a
/// temporary directory (deleted on dispose): a CA, a server certificate for 127.0.0.1 and localhost signed by it,
/// and a second, unrelated CA for clients that must not trust the server. <see cref="IssueClientCertificate"/> makes
/// client certificates (for authentication by certificate) signed by either.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _otherCa;

    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tiered-tls-").FullName;
        var ca = _ca = CreateCa("Tiered Test CA");
        _otherCa = CreateCa("Another Test CA");
        CaFile = WriteCertificate("ca.pem", ca);
        OtherCaFile = WriteCertificate("other-ca.pem", _otherCa);
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var server = Sign(ca, serverKey, "CN=127.0.0.1", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        ServerCertFile = WriteCertificate("server.pem", server);
        ServerKeyFile = Write("server-key.pem", serverKey.ExportPkcs8PrivateKeyPem());
        using var expiredKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var expired = Sign(ca, expiredKey, "CN=127.0.0.1", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
        ExpiredCertFile = WriteCertificate("expired.pem", expired);
        ExpiredKeyFile = Write("expired-key.pem", expiredKey.ExportPkcs8PrivateKeyPem());
    }

    public string Directory { get; }

    /// <summary>The CA that signed the server certificate (PEM).</summary>
    public string CaFile { get; }

    /// <summary>A CA that signed nothing here: trusting it alone must not let a client accept the server.</summary>
    public string OtherCaFile { get; }

    /// <summary>The server certificate, for 127.0.0.1 and localhost, valid now.</summary>
    public string ServerCertFile { get; }

    public string ServerKeyFile { get; }

    /// <summary>A certificate of the same CA that expired yesterday, and its key.</summary>
    public string ExpiredCertFile { get; }

    public string ExpiredKeyFile { get; }

    /// <summary>
    /// A client certificate (extended key usage clientAuth) for subject <c>CN=<paramref name="commonName"/></c>, signed by
    /// the CA (or, with <paramref name="byOtherCa"/>, by the other one), valid now unless <paramref name="expired"/>;
    /// returns its certificate and key files.
    /// </summary>
    public (string CertFile, string KeyFile) IssueClientCertificate(string commonName, bool byOtherCa = false, bool expired = false)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (from, until) = expired ? (DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1)) : (DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        using var certificate = Sign(byOtherCa ? _otherCa : _ca, key, $"CN={commonName}, O=Tiered Tests", from, until, new Oid("1.3.6.1.5.5.7.3.2"));
        var name = $"client-{commonName}{(byOtherCa ? "-other-ca" : "")}{(expired ? "-expired" : "")}";
        return (WriteCertificate($"{name}.pem", certificate), Write($"{name}-key.pem", key.ExportPkcs8PrivateKeyPem()));
    }

    /// <summary>Writes <paramref name="text"/> into a file of the directory; returns its path.</summary>
    public string Write(string name, string text)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string WriteCertificate(string name, X509Certificate2 certificate) => Write(name, certificate.ExportCertificatePem());

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(365));
    }

    private static X509Certificate2 Sign(X509Certificate2 ca, ECDsa key, string subject, DateTimeOffset notBefore, DateTimeOffset notAfter, Oid? usage = null)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage ?? new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7f;
        return request.Create(ca, notBefore, notAfter, serial);
    }
}
