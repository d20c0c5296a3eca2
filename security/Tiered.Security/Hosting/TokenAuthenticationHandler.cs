using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tiered.Security.Tokens;

namespace Tiered.Security.Hosting;

/// <summary>
/// ASP.NET Core authentication of bearer tokens (REST and gRPC alike: gRPC metadata are HTTP/2 headers), verified by
/// the role's <see cref="TokenVerifier"/> (cached). A request without a token is not authenticated (the service then
/// says how to send one); a refused token fails with the verifier's reason, which never quotes the token. Whether a
/// request needs a role at all is the service's decision: health and metrics, say, do not.
/// </summary>
internal sealed class TokenAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TieredSecurity security)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0)
            return AuthenticateResult.NoResult();
        if (!BearerToken.TryParse(header, out var token))
            return Fail("the authorization header is not 'Bearer <token>'.");
        if (security.Verifier is null)
            return AuthenticateResult.NoResult(); // This role accepts client certificates only.
        var validation = await security.Verifier.ValidateAsync(token).ConfigureAwait(false);
        return validation.Role is { } role
            ? AuthenticateResult.Success(new AuthenticationTicket(TieredSecurity.Principal(role), TieredSecurity.Scheme))
            : Fail(validation.Reason ?? "the token is not valid.");
    }

    /// <summary>A refusal, kept for the service's answer (ASP.NET Core keeps only successful results on the request).</summary>
    private AuthenticateResult Fail(string reason)
    {
        Context.Items[TieredSecurity.RefusalItem] = $"The token was refused: {reason}";
        return AuthenticateResult.Fail(reason);
    }
}
