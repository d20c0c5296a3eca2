using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Tiered.Security.Tokens;

/// <summary>
/// The private half of an RS256 key pair: signs tokens. Stays with whoever issues tokens; brokers get only the
/// <see cref="PublicKey"/>. Its file is PEM, PKCS#8 (<c>-----BEGIN PRIVATE KEY-----</c>; PKCS#1
/// <c>RSA PRIVATE KEY</c> is read too).
/// </summary>
public sealed class PrivateKey : SigningKey, IDisposable
{
    /// <summary>Smaller RSA keys are refused (and Microsoft.IdentityModel would not sign with them).</summary>
    public const int MinimumBits = 2048;

    private readonly RSA _rsa;

    private PrivateKey(RSA rsa)
    {
        _rsa = rsa;
        Credentials = new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256);
        PublicKey = PublicKey.FromRsa(rsa);
    }

    public override string Algorithm => SecurityAlgorithms.RsaSha256;

    /// <summary>The matching public key, for the brokers.</summary>
    public PublicKey PublicKey { get; }

    internal override SigningCredentials Credentials { get; }

    /// <summary>A new RSA 2048 key pair.</summary>
    public static PrivateKey Create() => new(RSA.Create(MinimumBits));

    /// <summary>Reads a PEM private key file.</summary>
    public static PrivateKey Read(string path)
    {
        var text = Pem.ReadText(path, "private key", "create a key pair with: tiered tokens create-key-pair --output-private FILE --output-public FILE");
        var label = Pem.Label(text, path, "private key", "PRIVATE KEY");
        switch (label)
        {
            case "PRIVATE KEY" or "RSA PRIVATE KEY":
                break;
            case "ENCRYPTED PRIVATE KEY":
                throw new TokenKeyException($"{path} holds an encrypted private key, which is not supported: give it unencrypted (openssl pkcs8 -topk8 -nocrypt), readable by its owner only.");
            case "PUBLIC KEY" or "RSA PUBLIC KEY":
                throw new TokenKeyException($"{path} holds a public key; signing a token needs the private key of the pair (the file written by --output-private).");
            default:
                throw new TokenKeyException($"{path} holds a PEM '{label}', not a private key (-----BEGIN PRIVATE KEY-----).");
        }
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(text);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            rsa.Dispose();
            throw new TokenKeyException($"{path} is not an RSA private key that can be read (only RSA keys sign RS256 tokens).", e);
        }
        if (rsa.KeySize < MinimumBits)
        {
            var bits = rsa.KeySize;
            rsa.Dispose();
            throw new TokenKeyException($"the RSA key in {path} has {bits} bits; RS256 needs at least {MinimumBits}.");
        }
        return new PrivateKey(rsa);
    }

    /// <summary>Writes the key as PKCS#8 PEM to a new file readable by its owner only.</summary>
    public void Write(string path)
        => KeyFiles.WriteNew(path, System.Text.Encoding.ASCII.GetBytes(_rsa.ExportPkcs8PrivateKeyPem() + "\n"), secret: true, "private key");

    public void Dispose() => _rsa.Dispose();

    /// <summary>Never the key.</summary>
    public override string ToString() => $"RS256 private key ({_rsa.KeySize} bits)";
}
