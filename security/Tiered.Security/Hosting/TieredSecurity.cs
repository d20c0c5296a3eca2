using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Tiered.Security.Authorization;
using Tiered.Security.Tokens;

namespace Tiered.Security.Hosting;

/// <summary>
/// A role's security, as its services see it: whether authentication is on, the role a request authenticated as
/// (or why it did not), and the <see cref="Authorizer"/> with the super-user roles.
/// </summary>
public sealed class TieredSecurity
{
    /// <summary>The authentication scheme of bearer tokens.</summary>
    public const string Scheme = "TieredToken";

    /// <summary>The authentication scheme of client certificates (<see cref="SecurityOptions.TlsClientCaFile"/>).</summary>
    public const string CertificateScheme = "TieredCertificate";

    /// <summary>The default scheme: a request's token when it sends one, else its client certificate.</summary>
    internal const string EitherScheme = "Tiered";

    /// <summary>Where the authentication handlers leave why a request's credential was refused (a whole sentence).</summary>
    internal const string RefusalItem = "tiered.auth-refusal";

    /// <summary>The claim a request's role is kept in once its token or certificate is verified.</summary>
    public const string RoleClaim = "tiered.role";

    /// <summary>No authentication: every request is allowed (a standalone on loopback, by default).</summary>
    public static readonly TieredSecurity Off = new(new SecurityOptions(), verifier: null);

    public TieredSecurity(SecurityOptions options, TokenVerifier? verifier)
    {
        Options = options;
        Verifier = verifier;
        Authorizer = new Authorizer(options.SuperUserRoles);
    }

    public SecurityOptions Options { get; }

    /// <summary>Verifies tokens; null when tokens are not accepted (no token key).</summary>
    public TokenVerifier? Verifier { get; }

    public Authorizer Authorizer { get; }

    /// <summary>Checks client certificates; null when they are not an authentication method here.</summary>
    internal ClientCertificates? Certificates { get; init; }

    /// <summary>True when requests must authenticate, by token or client certificate.</summary>
    public bool Enabled => Verifier is not null || Options.ClientCertificateAuthenticationEnabled;

    /// <summary>
    /// The role the request authenticated as (null when authentication is off, and every request is allowed); false
    /// when authentication is on and the request has no valid token or client certificate, with <paramref name="refusal"/> saying why.
    /// </summary>
    public bool TryAuthenticate(HttpContext context, out string? role, [NotNullWhen(false)] out string? refusal)
    {
        refusal = null;
        role = null;
        if (!Enabled)
            return true;
        role = context.User.FindFirst(RoleClaim)?.Value;
        if (role is not null)
            return true;
        // The certificate handler only logs why it refused a certificate: the client is told here.
        refusal = context.Items[RefusalItem] as string
            ?? (Certificates is not null && context.Connection.ClientCertificate is { } certificate
                ? $"The client certificate was refused: {Certificates.WhyRefused(certificate)}"
                : Required);
        return false;
    }

    /// <summary>What a request without any credential is told, by the methods this role accepts.</summary>
    private string Required => (Verifier is not null, Options.ClientCertificateAuthenticationEnabled) switch
    {
        (true, false) => "Authentication is required: send a token as 'authorization: Bearer <token>' (the clients' --token or --token-file, or TIERED_TOKEN).",
        (false, true) => "Authentication is required: present a client certificate signed by a CA this broker trusts (the clients' --tls-cert-file and --tls-key-file).",
        _ => "Authentication is required: send a token as 'authorization: Bearer <token>' (the clients' --token or --token-file, or TIERED_TOKEN), "
            + "or present a client certificate signed by a CA this broker trusts (--tls-cert-file and --tls-key-file).",
    };

    internal static ClaimsPrincipal Principal(string role, string scheme = Scheme)
        => new(new ClaimsIdentity([new Claim(RoleClaim, role)], scheme, RoleClaim, null));
}
