using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tiered.Hosting;
using Tiered.Proto.Tls;

namespace Tiered.Security.Hosting;

/// <summary>
/// Client certificates as an authentication method (<c>--tls-client-ca-file</c>), as Pulsar's AuthenticationProviderTls:
/// the TLS handshake asks for a certificate (Kestrel accepts any, so that a bad one is answered with a reason rather
/// than a failed handshake), ASP.NET Core's certificate authentication checks it (chain to one of the CAs, validity
/// period, client-authentication use; revocation is not checked, as for server certificates), and the role is the
/// subject's CN. Results are cached by certificate, as verified tokens are.
/// </summary>
internal sealed class ClientCertificates(TlsTrust trust, TimeProvider time)
{
    private const string Flag = "--tls-client-ca-file";
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");
    private static readonly Oid CommonName = new("2.5.4.3");

    /// <summary>Reads the CAs and asks the TLS listeners for client certificates; throws <see cref="ArgumentException"/> naming the problem.</summary>
    public static ClientCertificates Add(IHostApplicationBuilder builder, AuthenticationBuilder authentication, SecurityOptions options)
    {
        var listeners = TieredListeners.Of(builder);
        if (listeners.Certificate is null)
            throw new ArgumentException($"{Flag} needs TLS: clients present their certificates in the TLS handshake. Give --tls-cert-file and --tls-key-file too.");
        var certificates = new ClientCertificates(TlsTrust.Load(options.TlsClientCaFile!, Flag), TimeProvider.System);
        listeners.AskForClientCertificates(options.TlsRequireClientCertificate);
        authentication.AddCertificateCache();
        authentication.AddCertificate(TieredSecurity.CertificateScheme, o =>
        {
            o.AllowedCertificateTypes = CertificateTypes.Chained;
            o.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
            o.CustomTrustStore = certificates.Trust.Certificates;
            o.RevocationMode = X509RevocationMode.NoCheck;
            o.ValidateCertificateUse = true;
            o.ValidateValidityPeriod = true;
            o.Events = new CertificateAuthenticationEvents
            {
                OnCertificateValidated = context =>
                {
                    if (RoleOf(context.ClientCertificate) is { } role)
                    {
                        context.Principal = TieredSecurity.Principal(role, TieredSecurity.CertificateScheme);
                        context.Success();
                    }
                    else
                    {
                        context.Fail("the client certificate has no CN.");
                    }
                    return Task.CompletedTask;
                },
            };
        });
        return certificates;
    }

    public TlsTrust Trust { get; } = trust;

    /// <summary>The role a certificate names: its subject's (last) CN; null when it has none.</summary>
    public static string? RoleOf(X509Certificate2 certificate)
    {
        string? role = null;
        foreach (var name in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (name.GetSingleElementType().Value == CommonName.Value && name.GetSingleElementValue() is { Length: > 0 } value)
                role = value;
        }
        return string.IsNullOrWhiteSpace(role) ? null : role;
    }

    /// <summary>
    /// Why a certificate the authentication handler did not accept was refused, in words for the client (the handler
    /// itself only logs it). Checked in the handler's order: validity period, chain, use, CN.
    /// </summary>
    public string WhyRefused(X509Certificate2 certificate)
    {
        var subject = string.IsNullOrEmpty(certificate.Subject) ? "(no subject)" : certificate.Subject;
        var now = time.GetUtcNow().UtcDateTime;
        if (certificate.NotAfter.ToUniversalTime() < now)
            return $"the client certificate {subject} expired on {certificate.NotAfter.ToUniversalTime():u}; renew it.";
        if (certificate.NotBefore.ToUniversalTime() > now)
            return $"the client certificate {subject} is not valid before {certificate.NotBefore.ToUniversalTime():u}; check the clock or the certificate.";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Trust.Certificates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (!chain.Build(certificate))
        {
            return $"the client certificate {subject} (issued by {certificate.Issuer}) is not signed by a CA this broker trusts ({Flag}); "
                + "use a certificate signed by one of them.";
        }
        foreach (var extension in certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>())
        {
            if (!extension.EnhancedKeyUsages.Cast<Oid>().Any(u => u.Value == ClientAuthentication.Value))
                return $"the client certificate {subject} is not meant for client authentication: its extended key usage lacks clientAuth (1.3.6.1.5.5.7.3.2).";
        }
        if (RoleOf(certificate) is null)
            return $"the client certificate {subject} has no CN (common name) to take the role from.";
        return $"the client certificate {subject} is not valid.";
    }
}
