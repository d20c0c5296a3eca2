using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using System.Net;
using System.Net.Sockets;
using Tiered.Hosting;
using Tiered.Security.Tokens;

namespace Tiered.Security.Hosting;

public static class SecurityHosting
{
    /// <summary>
    /// The role's security: with a token key, requests are authenticated by their bearer token (the key is read and
    /// checked now, so a bad key file stops the start with its reason); with a client CA file (and TLS), by their client
    /// certificate; a request that sends a token is judged by the token alone, one without by its certificate. With
    /// neither, <see cref="TieredSecurity.Off"/>. The services check roles against permissions themselves
    /// (<see cref="TieredSecurity.TryAuthenticate"/>). Call after TLS was set up (<see cref="TieredListeners.UseTls"/>).
    /// </summary>
    public static IHostApplicationBuilder AddTieredSecurity(this IHostApplicationBuilder builder, SecurityOptions options)
    {
        options.Validate();
        if (!options.AuthenticationEnabled)
        {
            builder.Services.TryAddSingleton(TieredSecurity.Off);
            return builder;
        }
        var verifier = TokenVerifier.FromKeyFiles(options.TokenSecretKey, options.TokenPublicKey, new TokenVerifierOptions { RoleClaim = options.TokenRoleClaim });
        var authentication = builder.Services.AddAuthentication(TieredSecurity.EitherScheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TieredSecurity.Scheme, null)
            .AddPolicyScheme(TieredSecurity.EitherScheme, null, o => o.ForwardDefaultSelector = SchemeOf);
        var certificates = options.ClientCertificateAuthenticationEnabled ? ClientCertificates.Add(builder, authentication, options) : null;
        builder.Services.AddSingleton(new TieredSecurity(options, verifier) { Certificates = certificates });
        builder.Services.AddSingleton<ITieredEndpoints, Middleware>();
        return builder;
    }

    /// <summary>The token's scheme when the request sends one (and tokens are accepted), else the certificate's when it presented one.</summary>
    private static string SchemeOf(HttpContext context)
    {
        var security = context.RequestServices.GetRequiredService<TieredSecurity>();
        if (security.Verifier is not null && context.Request.Headers.Authorization.Count > 0)
            return TieredSecurity.Scheme;
        return security.Certificates is not null && context.Connection.ClientCertificate is not null ? TieredSecurity.CertificateScheme : TieredSecurity.Scheme;
    }

    /// <summary>
    /// Lets only the cluster's own components call the gRPC service <paramref name="serviceName"/> (full name, e.g.
    /// <c>tiered.bookie.v1.Bookie</c>) when authentication is on: their tokens (<c>--component-token-file</c>) must name
    /// a super-user role. Call after <see cref="AddTieredSecurity"/>.
    /// </summary>
    /// <param name="what">The service, for refusals ("the bookie").</param>
    public static IHostApplicationBuilder RequireComponentRole(this IHostApplicationBuilder builder, string serviceName, string what)
    {
        if (!builder.Properties.TryGetValue(typeof(ComponentServices), out var known))
        {
            builder.Properties[typeof(ComponentServices)] = known = new ComponentServices();
            builder.Services.AddSingleton((ComponentServices)known);
            builder.Services.AddGrpc(o => o.Interceptors.Add<ComponentAccessInterceptor>());
        }
        ((ComponentServices)known).Add(serviceName, what);
        return builder;
    }

    /// <summary>
    /// The safe default: a role whose listeners are reachable from other machines (an address that is not loopback,
    /// a wildcard, or a name that resolves to one) refuses to start without authentication, unless the operator
    /// passed <c>--allow-anonymous</c>, and then it logs a warning at every start. Call after the roles were added.
    /// </summary>
    /// <param name="what">The role, for the message ("the bookie").</param>
    /// <exception cref="ArgumentException">Reachable from elsewhere, unauthenticated, and not allowed to be.</exception>
    public static void RequireAuthenticationOffLoopback(this IHostApplicationBuilder builder, SecurityOptions options, string what)
    {
        if (options.AuthenticationEnabled)
            return;
        var exposed = TieredListeners.Of(builder).Addresses.FirstOrDefault(a => !IsLoopback(a.Address));
        if (exposed.Setting is null)
            return;
        const string why = "without authentication (--token-secret-key, --token-public-key or --tls-client-ca-file)";
        if (!options.AllowAnonymous)
        {
            throw new ArgumentException(
                $"{exposed.Setting} {exposed.Address} is reachable from other machines, and {what} would serve anyone there {why}. "
                + "Listen on a loopback address (127.0.0.1), turn authentication on, or pass --allow-anonymous to accept that explicitly.");
        }
        var warning = $"{char.ToUpperInvariant(what[0])}{what[1..]} serves {exposed.Address} ({exposed.Setting}) {why}, as --allow-anonymous allows: anyone who can reach it may use it.";
        builder.Services.AddHostedService(sp => new AnonymousWarning(sp.GetRequiredService<ILoggerFactory>().CreateLogger("Tiered.Security"), warning));
    }

    private static bool IsLoopback(HostPort address)
    {
        if (address.IsWildcard)
            return false;
        if (address.Address is { } ip)
            return IPAddress.IsLoopback(ip);
        try
        {
            return Dns.GetHostAddresses(address.Host) is { Length: > 0 } resolved && resolved.All(IPAddress.IsLoopback);
        }
        catch (SocketException)
        {
            return false; // It cannot be told: treat it as reachable.
        }
    }

    private sealed class AnonymousWarning(ILogger logger, string warning) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            SecurityLog.AnonymousAccess(logger, warning);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class Middleware : ITieredEndpoints
    {
        public void Map(WebApplication app) => app.UseAuthentication();
    }
}
