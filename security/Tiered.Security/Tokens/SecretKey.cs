using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Tiered.Security.Tokens;

/// <summary>
/// An HS256 secret: it both signs and verifies, so every holder can issue tokens. As Pulsar's, its file holds the raw
/// key bytes, whatever they are (the text of a base64 file is the key, not what it decodes to); the same file goes
/// to <c>tiered tokens create</c> and to the brokers.
/// </summary>
public sealed class SecretKey : SigningKey
{
    /// <summary>HS256 needs at least 256 bits of key (RFC 7518 §3.2).</summary>
    public const int MinimumBytes = 32;

    private const string CreateHint = "create one with: tiered tokens create-secret-key --output FILE";

    private readonly byte[] _bytes;

    private SecretKey(byte[] bytes)
    {
        _bytes = bytes;
        SecurityKey = new SymmetricSecurityKey(bytes);
        Credentials = new SigningCredentials(SecurityKey, SecurityAlgorithms.HmacSha256);
    }

    public override string Algorithm => SecurityAlgorithms.HmacSha256;

    /// <summary>How many bytes the key has (not the key).</summary>
    public int Length => _bytes.Length;

    internal SymmetricSecurityKey SecurityKey { get; }

    internal override SigningCredentials Credentials { get; }

    /// <summary>A new random key of <see cref="MinimumBytes"/> bytes from the operating system's CSPRNG.</summary>
    public static SecretKey Create() => new(RandomNumberGenerator.GetBytes(MinimumBytes));

    /// <summary>A key from bytes; at least <see cref="MinimumBytes"/>.</summary>
    public static SecretKey FromBytes(ReadOnlySpan<byte> bytes)
        => bytes.Length >= MinimumBytes
            ? new SecretKey(bytes.ToArray())
            : throw new TokenKeyException($"a secret key has {bytes.Length} bytes; HS256 needs at least {MinimumBytes} ({CreateHint}).");

    /// <summary>Reads a key file (its raw bytes).</summary>
    public static SecretKey Read(string path)
    {
        var bytes = KeyFiles.Read(path, "secret key", CreateHint);
        if (bytes.Length < MinimumBytes)
        {
            throw new TokenKeyException(bytes.Length == 0
                ? $"the secret key file {path} is empty ({CreateHint})."
                : $"the secret key file {path} has {bytes.Length} bytes; HS256 needs at least {MinimumBytes} ({CreateHint}).");
        }
        return new SecretKey(bytes);
    }

    /// <summary>Writes the raw key, or its base64 text, to a new file readable by its owner only.</summary>
    public void Write(string path, bool base64 = false)
        => KeyFiles.WriteNew(path, base64 ? System.Text.Encoding.ASCII.GetBytes(ToBase64()) : _bytes, secret: true, "secret key");

    /// <summary>The key as base64 text, for <c>create-secret-key --base64</c>; the caller decides where it goes.</summary>
    public string ToBase64() => Convert.ToBase64String(_bytes);

    /// <summary>Never the key.</summary>
    public override string ToString() => $"HS256 secret key ({_bytes.Length} bytes)";
}
