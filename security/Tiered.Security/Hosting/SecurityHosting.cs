using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Tiered.Hosting;
using Tiered.Security.Tokens;

namespace Tiered.Security.Hosting;

public static class SecurityHosting
{
    /// <summary>
    /// The role's security: with a token key, requests are authenticated by their bearer token (the key is read and
    /// checked now, so a bad key file stops the start with its reason); without one, <see cref="TieredSecurity.Off"/>.
    /// The services check roles against permissions themselves (<see cref="TieredSecurity.TryAuthenticate"/>).
    /// </summary>
    public static IHostApplicationBuilder AddTieredSecurity(this IHostApplicationBuilder builder, SecurityOptions options)
    {
        options.Validate();
        if (!options.AuthenticationEnabled)
        {
            builder.Services.TryAddSingleton(TieredSecurity.Off);
            return builder;
        }
        var verifier = TokenVerifier.FromKeyFiles(options.TokenSecretKey, options.TokenPublicKey, new TokenVerifierOptions { RoleClaim = options.TokenRoleClaim })!;
        builder.Services.AddSingleton(new TieredSecurity(options, verifier));
        builder.Services.AddAuthentication(TieredSecurity.Scheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TieredSecurity.Scheme, null);
        builder.Services.AddSingleton<ITieredEndpoints, Middleware>();
        return builder;
    }

    private sealed class Middleware : ITieredEndpoints
    {
        public void Map(WebApplication app) => app.UseAuthentication();
    }
}
