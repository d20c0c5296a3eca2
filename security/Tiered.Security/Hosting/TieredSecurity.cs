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

    /// <summary>Where the authentication handler leaves why a request's token was refused.</summary>
    internal const string RefusalItem = "tiered.token-refusal";

    /// <summary>The claim a request's role is kept in once its token is verified.</summary>
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

    public TokenVerifier? Verifier { get; }

    public Authorizer Authorizer { get; }

    public bool Enabled => Verifier is not null;

    /// <summary>
    /// The role the request authenticated as (null when authentication is off, and every request is allowed); false
    /// when authentication is on and the request has no valid token, with <paramref name="refusal"/> saying why.
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
        var failure = context.Items[RefusalItem] as string;
        refusal = failure is null
            ? "Authentication is required: send a token as 'authorization: Bearer <token>' (the clients' --token or --token-file, or TIERED_TOKEN)."
            : $"The token was refused: {failure}";
        return false;
    }

    internal static ClaimsPrincipal Principal(string role)
        => new(new ClaimsIdentity([new Claim(RoleClaim, role)], Scheme, RoleClaim, null));
}
