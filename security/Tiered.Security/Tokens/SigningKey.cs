using Microsoft.IdentityModel.Tokens;

namespace Tiered.Security.Tokens;

/// <summary>A key that signs tokens: a <see cref="SecretKey"/> (HS256) or a <see cref="PrivateKey"/> (RS256).</summary>
public abstract class SigningKey
{
    private protected SigningKey()
    {
    }

    /// <summary>The JWS algorithm this key signs with, and the only one a verifier with the matching key accepts.</summary>
    public abstract string Algorithm { get; }

    internal abstract SigningCredentials Credentials { get; }
}
