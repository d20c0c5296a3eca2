using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Configuration;
using Tiered.Hosting;
using Tiered.Security.Hosting;

namespace Tiered.Cli;

/// <summary>
/// The security flags of the server commands, bound to the <c>Security</c> section (environment
/// <c>TIERED_SECURITY__…</c>, or the config file): a token key turns authentication on.
/// </summary>
internal static class SecurityFlags
{
    /// <param name="componentToken">The role calls the metadata service or bookies over the network (broker, bookie): <c>--component-token-file</c>.</param>
    /// <param name="replicationToken">The role replicates to other clusters (broker, standalone): <c>--replication-token-file</c>.</param>
    public static void AddTo(SettingFlags flags, bool componentToken, bool replicationToken)
    {
        flags.Add(new Option<string?>("--token-secret-key")
        {
            HelpName = "FILE",
            Description = "Turns authentication on: every gRPC call and admin request needs a token (authorization: Bearer …) signed with this HS256 "
                + "secret key (tiered tokens create-secret-key), and may do only what its role is allowed; the metadata service and bookies serve only "
                + "--superuser-roles (the cluster's own components).",
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
            Description = "Roles that may do everything: manage clusters and tenants, produce and consume anywhere, and call the metadata service "
                + "and bookies directly (the role of the cluster's components).",
        }, SecurityOptions.Section + ":SuperUserRoles");
        if (componentToken)
        {
            flags.Add(new Option<string?>("--component-token-file")
            {
                HelpName = "FILE",
                Description = "The token this process presents to the metadata service and the bookies (read again when it changes): one whose role is "
                    + "in their --superuser-roles. Needed when they check tokens.",
            }, SecurityOptions.Section + ":ComponentTokenFile");
        }
        if (replicationToken)
        {
            flags.Add(new Option<string?>("--replication-token-file")
            {
                HelpName = "FILE",
                Description = "The token geo-replication presents to the remote clusters (read again when it changes): one whose role may produce there. "
                    + "Needed when they check tokens.",
            }, SecurityOptions.Section + ":ReplicationTokenFile");
        }
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
        flags.Add(new Option<bool>("--allow-anonymous")
        {
            Description = "Start even though a listen address is reachable from other machines and requests are not authenticated "
                + "(by default that refuses to start); a warning is logged at every start.",
        }, SecurityOptions.Section + ":AllowAnonymous", on => on ? "true" : null);
    }

    /// <summary>
    /// The role's security from its flags, once its roles were added to <paramref name="builder"/>: authentication with
    /// the token key, if given; the metadata and bookie services of the process (if it has them) serving only the
    /// cluster's components; and the refusal to listen off loopback without authentication.
    /// </summary>
    /// <param name="what">The role, for messages ("the bookie").</param>
    public static SecurityOptions Apply(IHostApplicationBuilder builder, IConfiguration configuration, string what)
    {
        var security = Bind(configuration);
        builder.AddTieredSecurity(security)
            .RequireComponentRole(Tiered.Metadata.V1.Metadata.Descriptor.FullName, "the metadata service")
            .RequireComponentRole(Tiered.Bookie.V1.Bookie.Descriptor.FullName, "the bookie");
        builder.RequireAuthenticationOffLoopback(security, what);
        return security;
    }

    private static SecurityOptions Bind(IConfiguration configuration)
        => TieredSettings.Bind(configuration, SecurityOptions.Section, new SecurityOptions(), o => o.Validate());
}
