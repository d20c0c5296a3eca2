namespace Tiered.ManagedLedgers;

/// <summary>Where a managed ledger and its cursors are kept in the metadata service.</summary>
public static class StoredPaths
{
    public const string LedgersRoot = "/managed-ledgers";
    public const string CursorsRoot = "/managed-ledger-cursors";

    /// <summary>/managed-ledgers/{name}: the ledger list.</summary>
    public static string Info(string name) => $"{LedgersRoot}/{name}";

    /// <summary>/managed-ledger-cursors/{name}: parent of the durable cursors.</summary>
    public static string Cursors(string name) => $"{CursorsRoot}/{name}";

    /// <summary>/managed-ledger-cursors/{name}/{cursor}, the cursor name escaped so that it is one path segment.</summary>
    public static string Cursor(string name, string cursor) => $"{Cursors(name)}/{EscapeSegment(cursor)}";

    public static string EscapeSegment(string cursor) => cursor switch
    {
        "." => "%2E",
        ".." => "%2E%2E",
        _ => Uri.EscapeDataString(cursor),
    };

    public static string UnescapeSegment(string segment) => Uri.UnescapeDataString(segment);

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="name"/> makes valid keys ("tenant/namespace/persistent/topic").</summary>
    public static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name[0] == '/' || name[^1] == '/' || name.Contains("//", StringComparison.Ordinal))
            throw new ArgumentException($"Managed ledger name '{name}' must not start or end with '/' or contain '//'.", nameof(name));
        try
        {
            Metadata.KeyPath.Validate(Info(name));
        }
        catch (Metadata.MetadataException e)
        {
            throw new ArgumentException($"Managed ledger name '{name}' does not make a valid metadata key: {e.Message}", nameof(name), e);
        }
    }
}
