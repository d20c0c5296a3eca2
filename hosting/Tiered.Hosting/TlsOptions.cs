using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tiered.Hosting;

/// <summary>
/// The server certificate of a process (section <see cref="Section"/>: <c>--tls-cert-file</c>, <c>--tls-key-file</c>).
/// With both files every listener of the process serves TLS: gRPC endpoints HTTP/2 negotiated by ALPN, HTTP endpoints
/// HTTPS; with neither, cleartext as before. The certificate is loaded and checked once, at start, so that a wrong
/// file stops the process with a message naming it rather than failing each client's handshake later.
/// </summary>
public sealed record TlsOptions
{
    public const string Section = "Tls";

    /// <summary>The server certificate (PEM, <c>BEGIN CERTIFICATE</c>), optionally followed by its intermediate CAs.</summary>
    public string? CertFile { get; init; }

    /// <summary>The certificate's private key (PEM, unencrypted PKCS#8, PKCS#1 or SEC1).</summary>
    public string? KeyFile { get; init; }

    /// <summary>
    /// The CAs (PEM) the certificates of the other components must chain to, for this process's own connections to
    /// them (metadata service, bookies, other clusters' brokers): given, those connections use TLS.
    /// </summary>
    public string? TrustCertsFile { get; init; }

    /// <summary>True when both files are given.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(CertFile) && !string.IsNullOrWhiteSpace(KeyFile);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(CertFile) != string.IsNullOrWhiteSpace(KeyFile))
            throw new ArgumentException(string.IsNullOrWhiteSpace(CertFile)
                ? "--tls-key-file is given without --tls-cert-file: give both (the certificate and its private key, PEM) to serve TLS, or neither."
                : "--tls-cert-file is given without --tls-key-file: give both (the certificate and its private key, PEM) to serve TLS, or neither.");
    }

    /// <summary>
    /// The certificate with its key, or null when TLS is off. Throws <see cref="SettingsException"/> naming the file
    /// when a file cannot be read, holds no PEM certificate or key, the key is not the certificate's, or the
    /// certificate is not valid now (expired or not yet valid).
    /// </summary>
    public X509Certificate2? Load(TimeProvider? time = null)
    {
        Validate();
        if (!Enabled)
            return null;
        var certFile = Path.GetFullPath(CertFile!);
        var keyFile = Path.GetFullPath(KeyFile!);
        var certText = Read(certFile, "--tls-cert-file");
        var keyText = Read(keyFile, "--tls-key-file");
        if (!certText.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            throw new SettingsException($"--tls-cert-file: {certFile} holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' block).");
        if (keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal))
            throw new SettingsException($"--tls-key-file: {keyFile} holds an encrypted private key; give the key unencrypted (openssl pkcs8 -nocrypt) and protect the file's permissions instead.");
        if (!keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new SettingsException($"--tls-key-file: {keyFile} holds no PEM private key (a '-----BEGIN PRIVATE KEY-----', RSA or EC PRIVATE KEY block).");
        X509Certificate2 certificate;
        try
        {
            // The first certificate of the file is the server's; the key is matched against it.
            certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // A key that is not the certificate's is an ArgumentException ("does not match the public key").
            var what = KeyMismatch(certText, keyText)
                ? $"the private key in --tls-key-file {keyFile} is not the key of the certificate in --tls-cert-file {certFile}"
                : $"--tls-cert-file {certFile} / --tls-key-file {keyFile} cannot be loaded: {e.Message}";
            throw new SettingsException(what + ".");
        }
        var now = (time ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        if (certificate.NotAfter.ToUniversalTime() < now)
        {
            var (subject, until) = (certificate.Subject, certificate.NotAfter.ToUniversalTime());
            certificate.Dispose();
            throw new SettingsException($"--tls-cert-file: the certificate in {certFile} ({subject}) expired on {until:u}; renew it.");
        }
        if (certificate.NotBefore.ToUniversalTime() > now)
        {
            var from = certificate.NotBefore.ToUniversalTime();
            certificate.Dispose();
            throw new SettingsException($"--tls-cert-file: the certificate in {certFile} is not valid before {from:u}; check the clock or the certificate.");
        }
        return certificate;
    }

    private static string Read(string path, string flag)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException($"{flag}: cannot read {path}: "
                + (e is FileNotFoundException or DirectoryNotFoundException ? "it does not exist." : e is UnauthorizedAccessException ? "permission denied." : e.Message));
        }
    }

    /// <summary>True when the certificate and the key both parse but do not belong together.</summary>
    private static bool KeyMismatch(string certText, string keyText)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(certText);
            using var key = certificate.GetKeyAlgorithm() == "1.2.840.113549.1.1.1" ? (AsymmetricAlgorithm)RSA.Create() : ECDsa.Create();
            key.ImportFromPem(keyText);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return false;
        }
    }
}
