using System.CommandLine;
using System.Globalization;

namespace Tiered.Bench;

/// <summary>Command-line options the benchmarks share, each with its validation and a message that says what to fix.</summary>
public static class CommandOptions
{
    public static Option<int> Positive(string name, string helpName, string description, int defaultValue)
    {
        var option = new Option<int>(name)
        {
            HelpName = helpName,
            Description = description,
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
                result.AddError($"{name} must be 1 or more.");
        });
        return option;
    }

    /// <summary>A comma-separated list of integers, each accepted by <paramref name="allowed"/>; <paramref name="rule"/> says which are.</summary>
    public static Option<string> IntList(string name, string description, string defaultValue, Func<int, bool> allowed, string rule)
    {
        var option = new Option<string>(name)
        {
            HelpName = "N,...",
            Description = description,
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(result =>
        {
            if (ParseIntList(result.GetValueOrDefault<string>(), allowed) is null)
                result.AddError($"{name} must be a comma-separated list of {rule} (for example {defaultValue}).");
        });
        return option;
    }

    /// <summary>The integers of a comma-separated list, or null if any is not a number or not <paramref name="allowed"/>.</summary>
    public static int[]? ParseIntList(string? value, Func<int, bool> allowed)
    {
        var parts = (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new List<int>();
        foreach (var part in parts)
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || !allowed(number))
                return null;
            values.Add(number);
        }
        return values.Count == 0 ? null : [.. values];
    }

    public static Option<string?> DataDir() => new("--data-dir")
    {
        HelpName = "DIR",
        Description = "Directory for the disk probe and the servers' data (default: a new temporary directory, deleted afterwards).",
    };
}
