using System.Globalization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Tiered.Security.Tokens;

/// <summary>
/// Turns a token into a role, as a broker with <c>--token-secret-key</c> or <c>--token-public-key</c> does for every
/// connection: the signature must match this verifier's key with the key's own algorithm (HS256 for a secret key,
/// RS256 for a public key; never <c>none</c>, and never an HS256 token "signed" with a public key); <c>exp</c> and
/// <c>nbf</c> are honoured when present (a token without <c>exp</c> never expires, as in Pulsar); no issuer or audience
/// is required. Accepted tokens are cached (<see cref="TokenVerifierOptions.CacheCapacity"/>) until they expire.
/// Reasons for refusal never quote the token or the key. Thread-safe.
/// </summary>
public sealed class TokenVerifier
{
    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters _parameters;
    private readonly VerifiedTokenCache _cache;
    private readonly string _keyKind;

    public TokenVerifier(SecretKey key, TokenVerifierOptions? options = null)
        : this(key.SecurityKey, key.Algorithm, "secret key", options)
    {
    }

    public TokenVerifier(PublicKey key, TokenVerifierOptions? options = null)
        : this(key.SecurityKey, key.Algorithm, "public key", options)
    {
    }

    private TokenVerifier(SecurityKey key, string algorithm, string keyKind, TokenVerifierOptions? options)
    {
        Options = options ?? new TokenVerifierOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(Options.RoleClaim, nameof(TokenVerifierOptions.RoleClaim));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.ClockSkew, TimeSpan.Zero, nameof(TokenVerifierOptions.ClockSkew));
        Algorithm = algorithm;
        _keyKind = keyKind;
        _cache = new VerifiedTokenCache(Options.CacheCapacity, Options.TimeProvider);
        _parameters = new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [algorithm],
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = false,
            ClockSkew = Options.ClockSkew,
            // The library's own lifetime check reads the system clock; this one reads the verifier's, which the cache
            // uses too, so that a cached token and a verified one expire at the same instant.
            LifetimeValidator = CheckLifetime,
            // Keep validation failures out of the library's own logs: what a failure means is in the answer.
            LogValidationExceptions = false,
        };
    }

    /// <summary>
    /// The verifier a role's <c>--token-secret-key FILE</c> or <c>--token-public-key FILE</c> asks for: null when neither
    /// is given (authentication off); a <see cref="TokenKeyException"/> when both are, or when the file cannot be used.
    /// </summary>
    public static TokenVerifier? FromKeyFiles(string? secretKeyFile, string? publicKeyFile, TokenVerifierOptions? options = null)
    {
        var hasSecret = !string.IsNullOrWhiteSpace(secretKeyFile);
        var hasPublic = !string.IsNullOrWhiteSpace(publicKeyFile);
        if (hasSecret && hasPublic)
            throw new TokenKeyException("give a secret key (HS256) or a public key (RS256) to verify tokens with, not both.");
        if (hasSecret)
            return new TokenVerifier(SecretKey.Read(secretKeyFile!), options);
        // The verifier keeps the key for the life of the process.
        return hasPublic ? new TokenVerifier(PublicKey.Read(publicKeyFile!), options) : null;
    }

    public TokenVerifierOptions Options { get; }

    /// <summary>The only algorithm accepted: the key's.</summary>
    public string Algorithm { get; }

    /// <summary>Accepted tokens currently remembered.</summary>
    internal int CachedCount => _cache.Count;

    /// <summary>Validations answered from the cache, without checking a signature.</summary>
    internal long CacheHits => _cache.Hits;

    /// <summary>The role the token authenticates, or why it is refused.</summary>
    public async ValueTask<TokenValidation> ValidateAsync(string? token)
    {
        if (string.IsNullOrWhiteSpace(token))
            return TokenValidation.Invalid(TokenFailure.Malformed, "no token was given.");
        token = token.Trim();
        if (_cache.TryGet(token, out var cached))
            return cached;
        if (!_handler.CanReadToken(token))
            return TokenValidation.Invalid(TokenFailure.Malformed, "the token is malformed: a JWT is three base64url parts separated by dots (header.payload.signature).");
        JsonWebToken jwt;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException)
        {
            return TokenValidation.Invalid(TokenFailure.Malformed, "the token is malformed: its header or payload is not base64url-encoded JSON.");
        }
        if (jwt.IsEncrypted)
            return TokenValidation.Invalid(TokenFailure.Malformed, "the token is encrypted (JWE); only signed tokens (JWS) are accepted.");
        // The header's alg is checked before anything else, so that an unsigned token or one signed with the wrong kind
        // of key is named as such, not as a bad signature. ValidAlgorithms checks it again inside the library.
        var algorithm = jwt.Alg;
        if (!string.Equals(algorithm, Algorithm, StringComparison.Ordinal))
        {
            return TokenValidation.Invalid(TokenFailure.AlgorithmNotAccepted, string.IsNullOrEmpty(algorithm) || algorithm.Equals("none", StringComparison.OrdinalIgnoreCase)
                ? $"the token is not signed (alg none); a token must be signed with {Algorithm} by the {KeyHolder}."
                : $"the token's algorithm {Printable(algorithm)} is not accepted: this {_keyKind} accepts only {Algorithm} ({Advice}).");
        }

        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(jwt, _parameters).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException)
        {
            return Explain(e);
        }
        if (!result.IsValid)
            return Explain(result.Exception);
        // A JSON string only (the library itself reads a number in sub as text): not an array, an object or another number.
        if (!jwt.TryGetPayloadValue<object>(Options.RoleClaim, out var claim) || claim is not string role || string.IsNullOrWhiteSpace(role))
        {
            return TokenValidation.Invalid(TokenFailure.MissingRoleClaim, claim is not null
                ? $"the role claim \"{Options.RoleClaim}\" is not a non-empty string; issue the token with the role as text (tiered tokens create --subject ROLE)."
                : $"the token has no role claim \"{Options.RoleClaim}\"; issue it with tiered tokens create --subject ROLE{(Options.RoleClaim == TokenIssuer.DefaultRoleClaim ? "" : $" --role-claim {Options.RoleClaim}")}.");
        }
        // ValidTo is what the lifetime check used: exp as a number of seconds (integer or not), MinValue without one.
        DateTimeOffset? expiresAt = jwt.ValidTo == DateTime.MinValue ? null : new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
        var validation = TokenValidation.Valid(role, expiresAt);
        _cache.Add(token, validation, expiresAt + Options.ClockSkew);
        return validation;
    }

    /// <summary>exp and nbf (each optional) against the verifier's clock, with the clock skew; throws the library's exceptions.</summary>
    private bool CheckLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = Options.TimeProvider.GetUtcNow().UtcDateTime;
        if (notBefore is { } nbf && expires is { } exp && nbf > exp)
            throw new SecurityTokenInvalidLifetimeException("exp before nbf") { NotBefore = nbf, Expires = exp };
        if (notBefore is { } start && now + Options.ClockSkew < start)
            throw new SecurityTokenNotYetValidException("nbf in the future") { NotBefore = start };
        if (expires is { } end && now - Options.ClockSkew >= end)
            throw new SecurityTokenExpiredException("exp in the past") { Expires = end };
        return true;
    }

    private string KeyHolder => _keyKind == "secret key" ? "holder of the secret key" : "holder of the private key";

    private string Advice => _keyKind == "secret key"
        ? "issue it with tiered tokens create --secret-key FILE"
        : "issue it with tiered tokens create --private-key FILE, the pair of this public key";

    private TokenValidation Explain(Exception? e) => e switch
    {
        SecurityTokenExpiredException expired => TokenValidation.Invalid(TokenFailure.Expired,
            $"the token expired at {Time(expired.Expires)}; issue a new one."),
        SecurityTokenNotYetValidException early => TokenValidation.Invalid(TokenFailure.NotYetValid,
            $"the token is not valid before {Time(early.NotBefore)} (its nbf); check the clocks of the issuer and this machine."),
        SecurityTokenInvalidLifetimeException => TokenValidation.Invalid(TokenFailure.Invalid,
            "the token's lifetime is invalid: it expires before it becomes valid (exp before nbf)."),
        SecurityTokenInvalidAlgorithmException => TokenValidation.Invalid(TokenFailure.AlgorithmNotAccepted,
            $"the token's algorithm is not accepted: this {_keyKind} accepts only {Algorithm}."),
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => TokenValidation.Invalid(TokenFailure.BadSignature,
            $"the token's signature does not match this {_keyKind}: it was signed with another key, or changed after it was signed."),
        SecurityTokenMalformedException or ArgumentException => TokenValidation.Invalid(TokenFailure.Malformed,
            "the token is malformed."),
        null => TokenValidation.Invalid(TokenFailure.Invalid, "the token was refused."),
        // The library's message is not passed on: it may describe the token.
        _ => TokenValidation.Invalid(TokenFailure.Invalid, $"the token was refused ({e.GetType().Name})."),
    };

    private static string Time(DateTime utc) => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The header's alg as it may be shown: short, printable ASCII.</summary>
    private static string Printable(string text)
    {
        var shown = new string([.. text.Take(32).Select(c => c is >= ' ' and <= '~' ? c : '?')]);
        return $"'{shown}{(text.Length > 32 ? "…" : "")}'";
    }
}
