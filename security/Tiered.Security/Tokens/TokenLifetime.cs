using System.Globalization;

namespace Tiered.Security.Tokens;

/// <summary>
/// Token lifetimes written as <c>pulsar tokens create --expiry-time</c> takes them: a whole number and a unit, s
/// (seconds), m (minutes), h, d, w (weeks) or y (365 days): <c>30m</c>, <c>1h</c>, <c>7d</c>.
/// </summary>
public static class TokenLifetime
{
    /// <summary>Longer lifetimes are refused: they are almost certainly a typo, and exp must stay a sane date.</summary>
    public static readonly TimeSpan Maximum = TimeSpan.FromDays(100 * 365);

    public static bool TryParse(string? text, out TimeSpan lifetime, out string error)
    {
        lifetime = default;
        const string expected = "a whole number and a unit: s, m (minutes), h, d, w or y, e.g. 30m, 1h, 7d";
        text = text?.Trim() ?? "";
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            error = $"'{Shorten(text)}' is not a lifetime: give {expected}.";
            return false;
        }
        var unit = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(1),
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            'w' => TimeSpan.FromDays(7),
            'y' => TimeSpan.FromDays(365),
            _ => TimeSpan.Zero,
        };
        if (unit == TimeSpan.Zero)
        {
            error = $"'{Shorten(text)}' has no known unit: give {expected}.";
            return false;
        }
        if (amount == 0)
        {
            error = $"'{text}' is no lifetime: a token that expires at once is useless; leave the expiry out for a token that never expires.";
            return false;
        }
        if (amount > Maximum.Ticks / unit.Ticks)
        {
            error = $"'{Shorten(text)}' is longer than {Maximum.TotalDays / 365:0} years; leave the expiry out for a token that never expires.";
            return false;
        }
        lifetime = unit * amount;
        error = "";
        return true;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
