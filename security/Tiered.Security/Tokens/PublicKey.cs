using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Tiered.Security.Tokens;

/// <summary>
/// The public half of an RS256 key pair: verifies tokens and cannot issue any, so it is what a broker holds. Its file
/// is PEM, SubjectPublicKeyInfo (<c>-----BEGIN PUBLIC KEY-----</c>; PKCS#1 <c>RSA PUBLIC KEY</c> is read too).
/// </summary>
public sealed class PublicKey : IDisposable
{
    private readonly RSA _rsa;

    private PublicKey(RSA rsa)
    {
        _rsa = rsa;
        SecurityKey = new RsaSecurityKey(rsa);
    }

    /// <summary>The only algorithm a verifier with this key accepts.</summary>
    public string Algorithm => SecurityAlgorithms.RsaSha256;

    internal RsaSecurityKey SecurityKey { get; }

    /// <summary>The public part of <paramref name="rsa"/>, copied (the private part stays out of it).</summary>
    internal static PublicKey FromRsa(RSA rsa)
    {
        var copy = RSA.Create();
        copy.ImportParameters(rsa.ExportParameters(includePrivateParameters: false));
        return new PublicKey(copy);
    }

    /// <summary>Reads a PEM public key file. A private key file is refused: a broker must not hold one.</summary>
    public static PublicKey Read(string path)
    {
        var text = Pem.ReadText(path, "public key", "create a key pair with: tiered tokens create-key-pair --output-private FILE --output-public FILE");
        var label = Pem.Label(text, path, "public key", "PUBLIC KEY");
        switch (label)
        {
            case "PUBLIC KEY" or "RSA PUBLIC KEY":
                break;
            case "PRIVATE KEY" or "RSA PRIVATE KEY" or "ENCRYPTED PRIVATE KEY":
                throw new TokenKeyException($"{path} holds a private key; verifying needs only the public key (the file written by --output-public), and a broker should not hold the private one.");
            default:
                throw new TokenKeyException($"{path} holds a PEM '{label}', not a public key (-----BEGIN PUBLIC KEY-----).");
        }
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(text);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            rsa.Dispose();
            throw new TokenKeyException($"{path} is not an RSA public key that can be read (only RSA keys verify RS256 tokens).", e);
        }
        if (rsa.KeySize < PrivateKey.MinimumBits)
        {
            var bits = rsa.KeySize;
            rsa.Dispose();
            throw new TokenKeyException($"the RSA key in {path} has {bits} bits; RS256 needs at least {PrivateKey.MinimumBits}.");
        }
        return new PublicKey(rsa);
    }

    /// <summary>Writes the key as SubjectPublicKeyInfo PEM to a new file (mode 644: it is no secret).</summary>
    public void Write(string path)
        => KeyFiles.WriteNew(path, System.Text.Encoding.ASCII.GetBytes(_rsa.ExportSubjectPublicKeyInfoPem() + "\n"), secret: false, "public key");

    public void Dispose() => _rsa.Dispose();

    public override string ToString() => $"RS256 public key ({_rsa.KeySize} bits)";
}
