namespace Tiered.Security.Tokens;

/// <summary>
/// A key file that cannot be used: missing, unreadable, too short, or of the wrong kind. The message names the file
/// and what to do; it never holds any of the file's bytes.
/// </summary>
public sealed class TokenKeyException : Exception
{
    public TokenKeyException(string message)
        : base(message)
    {
    }

    public TokenKeyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
