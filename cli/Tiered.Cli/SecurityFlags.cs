using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Tiered.Hosting;
using Tiered.Security.Hosting;

namespace Tiered.Cli;

/// <summary>
/// The security flags of <c>tiered broker</c> and <c>tiered standalone</c>, bound to the <c>Security</c> section
/// (environment <c>TIERED_SECURITY__…</c>, or the config file): a token key turns authentication on.
/// </summary>
internal static class SecurityFlags
{
    public static void AddTo(SettingFlags flags)
    {
        flags.Add(new Option<string?>("--token-secret-key")
        {
            HelpName = "FILE",
            Description = "Turns authentication on: every gRPC call and admin request needs a token (authorization: Bearer …) signed with this HS256 "
                + "secret key (tiered tokens create-secret-key), and may do only what its role is allowed.",
        }, SecurityOptions.Section + ":TokenSecretKey");
        flags.Add(new Option<string?>("--token-public-key")
        {
            HelpName = "FILE",
            Description = "Turns authentication on, as --token-secret-key, for RS256 tokens: the PEM public key of the pair that signs them (tiered tokens create-key-pair).",
        }, SecurityOptions.Section + ":TokenPublicKey");
        flags.Add(new Option<string>("--token-role-claim")
        {
            HelpName = "CLAIM",
            Description = "The token claim that names its role.",
            DefaultValueFactory = _ => "sub",
        }, SecurityOptions.Section + ":TokenRoleClaim");
        flags.AddList(new Option<string>("--superuser-roles")
        {
            HelpName = "ROLE,...",
            Description = "Roles that may do everything: manage clusters and tenants, and produce and consume anywhere.",
        }, SecurityOptions.Section + ":SuperUserRoles");
        flags.Add(new Option<string?>("--replication-token-file")
        {
            HelpName = "FILE",
            Description = "The token geo-replication presents to the remote clusters (read again for each connection): one whose role may produce there. "
                + "Needed when they check tokens.",
        }, SecurityOptions.Section + ":ReplicationTokenFile");
        flags.Add(new Option<string?>("--tls-client-ca-file")
        {
            HelpName = "PEM",
            Description = "Turns client certificates on as an authentication method (needs --tls-cert-file): TLS clients are asked for a certificate, "
                + "and one signed by these CAs (PEM) authenticates a request without a token as the role named by its subject's CN.",
        }, SecurityOptions.Section + ":TlsClientCaFile");
        flags.Add(new Option<bool>("--tls-require-client-cert")
        {
            Description = "With --tls-client-ca-file: refuse TLS connections without a client certificate (by default token clients without one still connect).",
        }, SecurityOptions.Section + ":TlsRequireClientCertificate", on => on ? "true" : null);
        AddAllowAnonymousTo(flags);
    }

    /// <summary><c>--allow-anonymous</c>: every server role has it (metadata nodes and bookies have only it: they do not check tokens yet).</summary>
    public static void AddAllowAnonymousTo(SettingFlags flags)
        => flags.Add(new Option<bool>("--allow-anonymous")
        {
            Description = "Start even though a listen address is reachable from other machines and requests are not authenticated "
                + "(by default that refuses to start); a warning is logged at every start.",
        }, SecurityOptions.Section + ":AllowAnonymous", on => on ? "true" : null);

    public static SecurityOptions Bind(IConfiguration configuration)
        => TieredSettings.Bind(configuration, SecurityOptions.Section, new SecurityOptions(), o => o.Validate());
}
