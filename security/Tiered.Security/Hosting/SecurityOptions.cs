namespace Tiered.Security.Hosting;

/// <summary>
/// A role's security settings (section <c>Security</c>: flags <c>--token-secret-key</c>, <c>--token-public-key</c>,
/// <c>--token-role-claim</c>, <c>--superuser-roles</c>, <c>--tls-client-ca-file</c>, <c>--tls-require-client-cert</c>,
/// <c>--component-token-file</c>, <c>--replication-token-file</c>, <c>--allow-anonymous</c>). A token key or a client CA
/// file turns authentication on: every request to the broker's gRPC service and admin API must then carry a valid token
/// or present a client certificate signed by one of those CAs, and is allowed only what its role may do; the metadata
/// service and the bookies then serve only super-user roles, which the cluster's own components present.
/// </summary>
public sealed record SecurityOptions
{
    public const string Section = "Security";

    /// <summary>A file holding the HS256 secret key tokens are verified with.</summary>
    public string? TokenSecretKey { get; init; }

    /// <summary>A PEM file holding the RS256 public key tokens are verified with (the private key stays with whoever issues them).</summary>
    public string? TokenPublicKey { get; init; }

    /// <summary>The claim that names the token's role.</summary>
    public string TokenRoleClaim { get; init; } = Tokens.TokenIssuer.DefaultRoleClaim;

    /// <summary>Roles that may do everything (the cluster's own components use one).</summary>
    public string[] SuperUserRoles { get; init; } = [];

    /// <summary>
    /// A file holding the token this process presents to the metadata service and the bookies (read again when it
    /// changes); its role must be a super-user of theirs when they check tokens.
    /// </summary>
    public string? ComponentTokenFile { get; init; }

    /// <summary>A file holding the token this broker's replicators present to the remote clusters (which may check it).</summary>
    public string? ReplicationTokenFile { get; init; }

    /// <summary>
    /// The CAs (PEM) client certificates must chain to: given (with TLS served), TLS handshakes ask for a client
    /// certificate, and a request without a token authenticates with a valid one as the role named by its subject's
    /// CN, as Pulsar's AuthenticationProviderTls.
    /// </summary>
    public string? TlsClientCaFile { get; init; }

    /// <summary>Refuse TLS handshakes without a client certificate (else token clients without one still connect).</summary>
    public bool TlsRequireClientCertificate { get; init; }

    /// <summary>Serve on an address other than loopback without authentication (a warning at every start).</summary>
    public bool AllowAnonymous { get; init; }

    public bool AuthenticationEnabled => TokenAuthenticationEnabled || ClientCertificateAuthenticationEnabled;

    public bool TokenAuthenticationEnabled => !string.IsNullOrEmpty(TokenSecretKey) || !string.IsNullOrEmpty(TokenPublicKey);

    public bool ClientCertificateAuthenticationEnabled => !string.IsNullOrEmpty(TlsClientCaFile);

    public void Validate()
    {
        if (!string.IsNullOrEmpty(TokenSecretKey) && !string.IsNullOrEmpty(TokenPublicKey))
            throw new ArgumentException("Give --token-secret-key (HS256) or --token-public-key (RS256) to verify tokens with, not both.");
        if (string.IsNullOrWhiteSpace(TokenRoleClaim))
            throw new ArgumentException("--token-role-claim must name a claim (the default is sub).");
        if (SuperUserRoles.Length > 0 && !AuthenticationEnabled)
            throw new ArgumentException("--superuser-roles has no effect without authentication: give --token-secret-key, --token-public-key or --tls-client-ca-file too.");
        if (TlsRequireClientCertificate && !ClientCertificateAuthenticationEnabled)
            throw new ArgumentException("--tls-require-client-cert needs --tls-client-ca-file (the CAs client certificates must be signed by).");
        if (ReplicationTokenFile is { Length: > 0 } file && !File.Exists(file))
            throw new ArgumentException($"--replication-token-file {file} does not exist.");
        if (ComponentTokenFile is { Length: > 0 } componentToken && !File.Exists(componentToken))
            throw new ArgumentException($"--component-token-file {componentToken} does not exist.");
        if (SuperUserRoles.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("--superuser-roles must not hold an empty role.");
    }
}
