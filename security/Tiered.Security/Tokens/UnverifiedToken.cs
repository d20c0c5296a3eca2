using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tiered.Security.Tokens;

/// <summary>
/// What a token says, read without checking its signature (<c>tiered tokens show</c>): anyone can write any claims
/// into a token, so nothing here may be trusted; <see cref="TokenVerifier"/> decides whether a token is good.
/// </summary>
public sealed record UnverifiedToken(JsonElement Header, JsonElement Payload, DateTimeOffset? ExpiresAt)
{
    /// <summary>The token's header and payload, or a <see cref="FormatException"/> when it is no JWS.</summary>
    public static UnverifiedToken Read(string token)
    {
        var handler = new JsonWebTokenHandler();
        token = token.Trim();
        if (!handler.CanReadToken(token))
            throw new FormatException("this is not a token: a JWT is three base64url parts separated by dots (header.payload.signature).");
        JsonWebToken jwt;
        try
        {
            jwt = handler.ReadJsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException)
        {
            throw new FormatException("this is not a token: its header or payload is not base64url-encoded JSON.", e);
        }
        if (jwt.IsEncrypted)
            throw new FormatException("this is an encrypted token (JWE); only signed tokens (JWS) are used.");
        using var header = JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.EncodedHeader));
        using var payload = JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.EncodedPayload));
        return new UnverifiedToken(header.RootElement.Clone(), payload.RootElement.Clone(), ExpiresAtOf(jwt));
    }

    /// <summary>exp (seconds, integer or not); null without one, or when it is no number (the JSON shows what it is).</summary>
    private static DateTimeOffset? ExpiresAtOf(JsonWebToken jwt)
    {
        try
        {
            return jwt.ValidTo == DateTime.MinValue ? null : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or SecurityTokenException)
        {
            return null;
        }
    }
}
