using System.CommandLine;
using System.Globalization;

namespace Tiered.Cli.Messaging;

/// <summary>
/// <c>tiered produce --deliver-after 4s</c> and <c>--deliver-at TIME</c>: delayed delivery (Shared and Key_Shared
/// subscriptions hold the messages until then; Exclusive and Failover deliver at once).
/// </summary>
internal static class DeliverOptions
{
    private const string DelayForm = "a number and a unit: ms, s, m, h or d, e.g. 500ms, 4s, 10m";

    public static Option<string?> DeliverAfter()
    {
        var option = new Option<string?>("--deliver-after")
        {
            HelpName = "DELAY",
            Description = "Deliver the messages no earlier than DELAY from now (500ms, 4s, 10m, 1h, 2d) to Shared and Key_Shared subscriptions.",
        };
        option.Validators.Add(result =>
        {
            if (!TryParseDelay(result.GetValueOrDefault<string?>(), out _, out var error))
                result.AddError($"--deliver-after {error}");
        });
        return option;
    }

    public static Option<string?> DeliverAt()
    {
        var option = new Option<string?>("--deliver-at")
        {
            HelpName = "TIME",
            Description = "Deliver the messages no earlier than TIME (ISO 8601, e.g. 2026-12-24T18:00:00Z, or ms since the Unix epoch) to Shared and Key_Shared subscriptions.",
        };
        option.Validators.Add(result =>
        {
            if (!TryParseTime(result.GetValueOrDefault<string?>(), out _, out var error))
                result.AddError($"--deliver-at {error}");
        });
        return option;
    }

    /// <summary>A delay as <c>4s</c>, <c>500ms</c>, <c>10m</c>, <c>1h</c>, <c>2d</c> (a fraction is allowed: <c>1.5s</c>).</summary>
    public static bool TryParseDelay(string? text, out TimeSpan delay, out string error)
    {
        delay = default;
        text = text?.Trim() ?? "";
        var digits = text.Length;
        while (digits > 0 && char.IsAsciiLetter(text[digits - 1]))
            digits--;
        var unit = text[digits..].ToLowerInvariant() switch
        {
            "ms" => TimeSpan.FromMilliseconds(1),
            "s" => TimeSpan.FromSeconds(1),
            "m" => TimeSpan.FromMinutes(1),
            "h" => TimeSpan.FromHours(1),
            "d" => TimeSpan.FromDays(1),
            _ => TimeSpan.Zero,
        };
        if (!double.TryParse(text.AsSpan(0, digits), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || unit == TimeSpan.Zero || !double.IsFinite(amount))
        {
            error = $"'{text}' is not a delay: give {DelayForm}.";
            return false;
        }
        if (amount < 0)
        {
            error = $"'{text}' is a negative delay: give 0 or more ({DelayForm}).";
            return false;
        }
        if (amount * unit.TotalDays > 3650)
        {
            error = $"'{text}' is longer than ten years; give a shorter delay.";
            return false;
        }
        delay = unit * amount;
        error = "";
        return true;
    }

    /// <summary>A time as ISO 8601 (with an offset or Z) or ms since the Unix epoch.</summary>
    public static bool TryParseTime(string? text, out DateTimeOffset time, out string error)
    {
        text = text?.Trim() ?? "";
        error = "";
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
        {
            if (ms >= 0 && ms <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
                return true;
            }
            time = default;
            error = $"'{text}' is not a time: ms since the Unix epoch cannot be negative.";
            return false;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time) && time.ToUnixTimeMilliseconds() >= 0)
            return true;
        error = $"'{text}' is not a time: give ISO 8601 (2026-12-24T18:00:00Z) or ms since the Unix epoch.";
        return false;
    }
}
