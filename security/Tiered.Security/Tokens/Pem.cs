namespace Tiered.Security.Tokens;

/// <summary>The label of a PEM file (what kind of key it says it holds), to refuse the wrong kind with a clear message.</summary>
internal static class Pem
{
    public static string ReadText(string path, string what, string createHint)
    {
        var bytes = KeyFiles.Read(path, what, createHint);
        return System.Text.Encoding.ASCII.GetString(bytes);
    }

    public static string Label(string text, string path, string what, string expected)
    {
        if (!System.Security.Cryptography.PemEncoding.TryFind(text, out var fields))
            throw new TokenKeyException($"the {what} file {path} is not PEM (expected -----BEGIN {expected}-----).");
        return text[fields.Label];
    }
}
