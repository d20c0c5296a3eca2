using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tiered.Security.Tokens;

/// <summary>
/// Issues tokens as <c>pulsar tokens create</c> does: a JWS whose payload is the role (in <c>sub</c>, or the claim a
/// cluster is configured with) and, when given, <c>exp</c>; nothing else (no <c>iat</c>, <c>nbf</c>, issuer or audience).
/// </summary>
public static class TokenIssuer
{
    /// <summary>The claim that carries the role unless a cluster names another (Pulsar's default too).</summary>
    public const string DefaultRoleClaim = "sub";

    /// <summary>A signed token for <paramref name="role"/>, expiring at <paramref name="expiresAt"/> (to the second) or never.</summary>
    public static string Create(SigningKey key, string role, DateTimeOffset? expiresAt = null, string roleClaim = DefaultRoleClaim)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrWhiteSpace(role);
        ArgumentException.ThrowIfNullOrWhiteSpace(roleClaim);
        if (roleClaim == "exp")
            throw new ArgumentException("The role claim cannot be 'exp'.", nameof(roleClaim));
        // No default times: the handler would otherwise add iat, nbf and a one-hour exp to every token.
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { [roleClaim] = role },
            Expires = expiresAt?.UtcDateTime,
            SigningCredentials = key.Credentials,
        });
    }

    /// <summary>As <see cref="Create(SigningKey, string, DateTimeOffset?, string)"/>, expiring <paramref name="lifetime"/> from now.</summary>
    public static string Create(SigningKey key, string role, TimeSpan lifetime, TimeProvider? timeProvider = null, string roleClaim = DefaultRoleClaim)
        => Create(key, role, (timeProvider ?? TimeProvider.System).GetUtcNow() + lifetime, roleClaim);
}
