using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tiered.Proto.Tls;

/// <summary>
/// The CA certificates a client trusts for https:// servers (the .NET client's TlsTrustCertsFile, the
/// <c>--tls-trust-certs-file</c> of the CLI and of the roles, for their connections to other components), as Pulsar's
/// tlsTrustCertsFilePath: a server certificate is accepted when its
/// chain ends at one of them and it names the host dialled. Validation is never switched off; without a file the
/// system's trusted roots apply.
/// </summary>
public sealed class TlsTrust
{
    /// <summary>How the option is called in messages: the client option and the CLI flag.</summary>
    public const string OptionNames = "TlsTrustCertsFile (--tls-trust-certs-file)";

    private readonly X509Certificate2Collection _roots;

    private TlsTrust(X509Certificate2Collection roots, string file)
    {
        _roots = roots;
        File = file;
    }

    /// <summary>The PEM file the roots came from.</summary>
    public string File { get; }

    /// <summary>The CA certificates of the file (a copy of the list; the certificates are shared).</summary>
    public X509Certificate2Collection Certificates => new(_roots);

    /// <summary>
    /// Reads the CA certificates of <paramref name="path"/> (PEM, one or more <c>BEGIN CERTIFICATE</c> blocks).
    /// Throws <see cref="ArgumentException"/> naming the file (and <paramref name="option"/>) when it cannot be read or
    /// holds no certificate.
    /// </summary>
    public static TlsTrust Load(string path, string option = OptionNames)
    {
        var file = Path.GetFullPath(path);
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{option}: cannot read {file}: "
                + (e is FileNotFoundException or DirectoryNotFoundException ? "it does not exist." : e is UnauthorizedAccessException ? "permission denied." : e.Message));
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"{option}: {file} is not a PEM file of CA certificates: {e.Message}");
        }
        return roots.Count > 0
            ? new TlsTrust(roots, file)
            : throw new ArgumentException($"{option}: {file} holds no PEM certificate (a '-----BEGIN CERTIFICATE-----' block).");
    }

    /// <summary>TLS options of a connection that trust these roots only (and still check the host name).</summary>
    public SslClientAuthenticationOptions ClientOptions() => new() { RemoteCertificateValidationCallback = Validate };

    /// <summary>
    /// Accepts <paramref name="certificate"/> when it names the host (the platform's check) and its chain, built with
    /// the certificates the server sent as intermediates, ends at one of the roots. Revocation is not checked: private
    /// CAs rarely publish revocation lists, as with Pulsar's TLS defaults.
    /// </summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
            return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        var leaf = certificate as X509Certificate2;
        using var copy = leaf is null ? new X509Certificate2(certificate) : null;
        return custom.Build(leaf ?? copy!);
    }

    /// <summary>True when <paramref name="e"/> (or what it wraps) is a TLS handshake that failed, mostly an untrusted certificate.</summary>
    public static bool IsHandshakeFailure(Exception? e) => HandshakeFailure(e) is not null;

    /// <summary>The failed handshake in <paramref name="e"/> or what it wraps (gRPC's debug exception included), else null.</summary>
    public static AuthenticationException? HandshakeFailure(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 8; depth++)
        {
            if (e is AuthenticationException authentication)
                return authentication;
            e = e is Grpc.Core.RpcException { Status.DebugException: { } debug } ? debug : e.InnerException;
        }
        return null;
    }
}
