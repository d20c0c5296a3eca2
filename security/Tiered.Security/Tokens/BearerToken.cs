namespace Tiered.Security.Tokens;

/// <summary>The token of an <c>authorization: Bearer …</c> header (REST) or metadata entry (gRPC), as clients send it.</summary>
public static class BearerToken
{
    /// <summary>The header, and the gRPC metadata key (gRPC keys are lower case).</summary>
    public const string HeaderName = "authorization";

    private const string Scheme = "Bearer ";

    /// <summary>True and the token when <paramref name="headerValue"/> is <c>Bearer TOKEN</c> (the scheme in any case).</summary>
    public static bool TryParse(string? headerValue, out string token)
    {
        token = "";
        if (headerValue is null || !headerValue.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        token = headerValue[Scheme.Length..].Trim();
        return token.Length > 0;
    }

    /// <summary>The header value for <paramref name="token"/>.</summary>
    public static string HeaderValue(string token) => Scheme + token;
}
