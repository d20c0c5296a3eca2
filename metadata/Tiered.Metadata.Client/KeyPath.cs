namespace Tiered.Metadata;

/// <summary>
/// Rules for keys and values. A key is an absolute path: it starts with '/', has no empty,
/// "." or ".." segment, no trailing '/', no control characters, and is at most
/// <see cref="MaxKeyLength"/> characters. Keys form a hierarchy only by name: deleting
/// "/a" does not delete "/a/b" (as in etcd and Oxia, unlike ZooKeeper).
/// </summary>
public static class KeyPath
{
    public const int MaxKeyLength = 4096;
    public const int MaxValueBytes = 1024 * 1024;

    /// <summary>Throws <see cref="MetadataException"/> with <see cref="MetadataErrorCode.BadKey"/> when <paramref name="key"/> is not a valid key.</summary>
    public static void Validate(string? key)
    {
        if (Problem(key, allowRoot: false) is { } problem)
            throw new MetadataException(MetadataErrorCode.BadKey, $"Invalid key '{Printable(key)}': {problem}.");
    }

    /// <summary>Validates a path whose children are listed; "/" is allowed.</summary>
    public static void ValidateParent(string? path)
    {
        if (Problem(path, allowRoot: true) is { } problem)
            throw new MetadataException(MetadataErrorCode.BadKey, $"Invalid path '{Printable(path)}': {problem}.");
    }

    /// <summary>Validates a key prefix (for recursive lists and watches): it must start with '/' and contain no control characters.</summary>
    public static void ValidatePrefix(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix) || prefix[0] != '/')
            throw new MetadataException(MetadataErrorCode.BadKey, $"Invalid prefix '{Printable(prefix)}': a prefix must start with '/'.");
        if (prefix.Length > MaxKeyLength)
            throw new MetadataException(MetadataErrorCode.BadKey, $"Invalid prefix: longer than {MaxKeyLength} characters.");
        foreach (var c in prefix)
        {
            if (char.IsControl(c) || c == '\uffff')
                throw new MetadataException(MetadataErrorCode.BadKey, "Invalid prefix: it contains a control character.");
        }
    }

    public static void ValidateValue(ReadOnlySpan<byte> value)
    {
        if (value.Length > MaxValueBytes)
            throw new MetadataException(MetadataErrorCode.ValueTooLarge,
                $"Value of {value.Length} bytes is larger than the limit of {MaxValueBytes} bytes (1 MiB); store large data elsewhere and keep a reference here.");
    }

    private static string? Problem(string? key, bool allowRoot)
    {
        if (string.IsNullOrEmpty(key))
            return "a key must not be empty";
        if (key[0] != '/')
            return "a key must start with '/'";
        if (key.Length == 1)
            return allowRoot ? null : "the root '/' cannot hold a value";
        if (key.Length > MaxKeyLength)
            return $"longer than {MaxKeyLength} characters";
        if (key[^1] == '/')
            return "a key must not end with '/'";
        var segmentStart = 1;
        for (var i = 1; i <= key.Length; i++)
        {
            if (i < key.Length)
            {
                var c = key[i];
                if (char.IsControl(c) || c == '\uffff')
                    return "it contains a control character";
                if (c != '/')
                    continue;
            }
            var segment = key.AsSpan(segmentStart, i - segmentStart);
            if (segment.IsEmpty)
                return "it contains an empty segment ('//')";
            if (segment is "." or "..")
                return "'.' and '..' segments are not allowed";
            segmentStart = i + 1;
        }
        return null;
    }

    private static string Printable(string? key) =>
        key is null ? "(null)" : key.Length > 80 ? key[..80] + "…" : key;
}
