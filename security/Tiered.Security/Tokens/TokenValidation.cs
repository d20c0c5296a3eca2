namespace Tiered.Security.Tokens;

/// <summary>Why a token was refused.</summary>
public enum TokenFailure
{
    /// <summary>Not a compact JWS (three base64url parts), or an encrypted token.</summary>
    Malformed,

    /// <summary>The signature does not match the key: signed with another key, or changed after signing.</summary>
    BadSignature,

    /// <summary>Past its <c>exp</c>.</summary>
    Expired,

    /// <summary>Before its <c>nbf</c>.</summary>
    NotYetValid,

    /// <summary>Signed with an algorithm the key does not accept (<c>none</c> included).</summary>
    AlgorithmNotAccepted,

    /// <summary>No role claim, or not a non-empty string.</summary>
    MissingRoleClaim,

    /// <summary>Refused by the library for another reason.</summary>
    Invalid,
}

/// <summary>
/// The answer of <see cref="TokenVerifier.ValidateAsync"/>: the role, or why the token was refused in words a user can
/// act on. <see cref="Reason"/> never holds the token or the key.
/// </summary>
public sealed record TokenValidation
{
    private TokenValidation(string? role, TokenFailure? failure, string? reason, DateTimeOffset? expiresAt)
    {
        Role = role;
        Failure = failure;
        Reason = reason;
        ExpiresAt = expiresAt;
    }

    /// <summary>The authenticated role; null when the token was refused.</summary>
    public string? Role { get; }

    public TokenFailure? Failure { get; }

    public string? Reason { get; }

    /// <summary>The token's <c>exp</c> when it was accepted and has one.</summary>
    public DateTimeOffset? ExpiresAt { get; }

    public bool IsValid => Role is not null;

    public static TokenValidation Valid(string role, DateTimeOffset? expiresAt) => new(role, null, null, expiresAt);

    public static TokenValidation Invalid(TokenFailure failure, string reason) => new(null, failure, reason, null);

    public override string ToString() => IsValid ? $"valid: role {Role}" : $"invalid ({Failure}): {Reason}";
}
