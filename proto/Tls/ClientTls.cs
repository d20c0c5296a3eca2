using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tiered.Proto.Tls;

/// <summary>
/// The TLS side of a client connection: the CAs the server's certificate must chain to (<see cref="TlsTrust"/>; null:
/// the system's roots) and, optionally, a client certificate presented to the server, which a broker started with
/// <c>--tls-client-ca-file</c> accepts as the caller's identity (its role is the certificate's subject CN), as
/// Pulsar's tlsCertificateFilePath/tlsKeyFilePath. Components could present one the same way.
/// </summary>
public sealed class ClientTls
{
    /// <summary>How the options are called in messages: the .NET client's options and the CLI flags.</summary>
    public const string CertificateOptionNames = "TlsCertificateFile (--tls-cert-file)";

    public const string KeyOptionNames = "TlsKeyFile (--tls-key-file)";

    private readonly SslStreamCertificateContext? _context;

    private ClientTls(TlsTrust? trust, X509Certificate2? certificate, SslStreamCertificateContext? context)
    {
        Trust = trust;
        Certificate = certificate;
        _context = context;
    }

    /// <summary>The CAs the server certificate is checked against; null: the system's roots.</summary>
    public TlsTrust? Trust { get; }

    /// <summary>The client certificate (with its private key) presented to servers that ask for one; null: none.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>
    /// The settings of the given files, or null when none is given (the defaults: system roots, no client certificate).
    /// Throws <see cref="ArgumentException"/> naming the file and the option when one cannot be used, or when only one
    /// of the certificate and its key is given.
    /// </summary>
    public static ClientTls? Create(string? trustCertsFile, string? certificateFile, string? keyFile)
    {
        var trust = string.IsNullOrWhiteSpace(trustCertsFile) ? null : TlsTrust.Load(trustCertsFile);
        if (string.IsNullOrWhiteSpace(certificateFile) && string.IsNullOrWhiteSpace(keyFile))
            return trust is null ? null : new ClientTls(trust, null, null);
        var (certificate, intermediates) = LoadCertificate(certificateFile, keyFile);
        var context = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        return new ClientTls(trust, certificate, context);
    }

    /// <summary>
    /// TLS options of a connection: the server certificate is verified against <see cref="Trust"/> (host name included),
    /// and <see cref="Certificate"/>, with the intermediate CAs of its file, is presented when the server asks.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions()
    {
        var options = Trust?.ClientOptions() ?? new SslClientAuthenticationOptions();
        if (_context is not null)
            options.ClientCertificateContext = _context;
        return options;
    }

    /// <summary>
    /// Reads a client certificate (PEM; the first certificate of the file, any further ones its intermediate CAs) and
    /// its unencrypted private key (PEM). Throws <see cref="ArgumentException"/> naming the file and the option.
    /// </summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Intermediates) LoadCertificate(string? certificateFile, string? keyFile)
    {
        if (string.IsNullOrWhiteSpace(certificateFile) || string.IsNullOrWhiteSpace(keyFile))
        {
            throw new ArgumentException(string.IsNullOrWhiteSpace(certificateFile)
                ? $"{KeyOptionNames} is given without {CertificateOptionNames}: give both (the client certificate and its private key, PEM), or neither."
                : $"{CertificateOptionNames} is given without {KeyOptionNames}: give both (the client certificate and its private key, PEM), or neither.");
        }
        var certPath = Path.GetFullPath(certificateFile);
        var keyPath = Path.GetFullPath(keyFile);
        var certText = Read(certPath, CertificateOptionNames);
        var keyText = Read(keyPath, KeyOptionNames);
        if (!certText.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            throw new ArgumentException($"{CertificateOptionNames}: {certPath} holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' block).");
        if (keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal))
            throw new ArgumentException($"{KeyOptionNames}: {keyPath} holds an encrypted private key; give the key unencrypted (openssl pkcs8 -nocrypt) and protect the file's permissions instead.");
        if (!keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new ArgumentException($"{KeyOptionNames}: {keyPath} holds no PEM private key (a '-----BEGIN PRIVATE KEY-----', RSA or EC PRIVATE KEY block).");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ArgumentException($"{CertificateOptionNames} {certPath} / {KeyOptionNames} {keyPath} cannot be used together "
                + $"(is the key the certificate's?): {e.Message}");
        }
        var all = new X509Certificate2Collection();
        all.ImportFromPem(certText);
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
            intermediates.Add(all[i]);
        all[0].Dispose();
        return (certificate, intermediates);
    }

    private static string Read(string path, string option)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{option}: cannot read {path}: "
                + (e is FileNotFoundException or DirectoryNotFoundException ? "it does not exist." : e is UnauthorizedAccessException ? "permission denied." : e.Message));
        }
    }
}
