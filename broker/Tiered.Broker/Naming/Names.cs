using System.Diagnostics.CodeAnalysis;

namespace Tiered.Broker.Naming;

/// <summary>
/// Checks of the names clients choose (subscriptions, consumers, producers) and how any name is
/// quoted in an error: never whole when it is long, so that a refusal stays small whatever was sent.
/// </summary>
public static class Names
{
    /// <summary>The longest subscription name.</summary>
    public const int MaxSubscriptionLength = 255;

    /// <summary>The longest producer or consumer name.</summary>
    public const int MaxClientNameLength = 255;

    /// <summary>How much of a name an error quotes.</summary>
    public const int QuotedLength = 64;

    /// <summary>'name', or its first <see cref="QuotedLength"/> characters and its length when it is longer; control characters shown as '?'.</summary>
    public static string Quote(string? name)
    {
        if (name is null)
            return "(none)";
        var shown = name.Length <= QuotedLength ? name : name[..QuotedLength];
        if (shown.Any(char.IsControl))
            shown = string.Create(shown.Length, shown, (span, s) =>
            {
                for (var i = 0; i < s.Length; i++)
                    span[i] = char.IsControl(s[i]) ? '?' : s[i];
            });
        return name.Length <= QuotedLength ? $"'{shown}'" : $"'{shown}…' ({name.Length} characters)";
    }

    /// <summary>A subscription name: 1-255 characters, not blank, no control characters.</summary>
    public static bool IsValidSubscription([NotNullWhen(true)] string? name)
        => !string.IsNullOrWhiteSpace(name) && name.Length <= MaxSubscriptionLength && !name.Any(char.IsControl);

    /// <summary>Throws <see cref="BrokerException"/> (BadName) when <paramref name="name"/> is not a valid subscription name.</summary>
    public static string Subscription(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new BrokerException(BrokerErrorCode.BadName, "A subscription name is required (or set reader = true to read without one).");
        return IsValidSubscription(name)
            ? name
            : throw new BrokerException(BrokerErrorCode.BadName,
                $"Invalid subscription name {Quote(name)}: use 1-{MaxSubscriptionLength} characters, no control characters.");
    }

    /// <summary>A producer or consumer name the client chose (empty: the broker picks one); throws BadName when too long or with control characters.</summary>
    public static string ClientChosen(string? name, string what)
    {
        if (string.IsNullOrEmpty(name))
            return "";
        if (name.Length > MaxClientNameLength || name.Any(char.IsControl))
            throw new BrokerException(BrokerErrorCode.BadName,
                $"Invalid {what} name {Quote(name)}: use at most {MaxClientNameLength} characters, no control characters (or none: the broker picks one).");
        return name;
    }
}
