namespace Tiered.Security.Tokens;

/// <summary>How a <see cref="TokenVerifier"/> reads and checks tokens. The defaults are Pulsar's.</summary>
public sealed record TokenVerifierOptions
{
    /// <summary>The claim that holds the role (Pulsar's <c>tokenAuthClaim</c>).</summary>
    public string RoleClaim { get; init; } = TokenIssuer.DefaultRoleClaim;

    /// <summary>Tolerance for clocks that disagree when checking <c>exp</c> and <c>nbf</c> (Pulsar's <c>tokenAllowedClockSkewSeconds</c>: 0).</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.Zero;

    /// <summary>How many accepted tokens are remembered, so that the same token is verified once, not per stream or request.</summary>
    public int CacheCapacity { get; init; } = 10_000;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
