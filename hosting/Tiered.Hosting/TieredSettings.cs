using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.FileProviders;

namespace Tiered.Hosting;

/// <summary>
/// The configuration of a Tiered process and the binding of a role's options from it. Sources,
/// from lowest to highest: the flags' defaults, an optional JSON config file (<c>--config</c>),
/// environment variables prefixed <see cref="EnvironmentPrefix"/> (<c>TIERED_BROKER__GRPCLISTEN</c>
/// sets <c>Broker:GrpcListen</c>), and the flags given. A bad value is reported with its setting
/// and the source it came from.
/// </summary>
public static partial class TieredSettings
{
    public const string EnvironmentPrefix = "TIERED_";

    /// <summary>The configuration of a server command.</summary>
    public static IConfigurationRoot Build(FlagSettings defaults, string? configFile, FlagSettings given)
    {
        var builder = new ConfigurationBuilder().Add(defaults);
        if (configFile is not null)
        {
            var path = Path.GetFullPath(configFile);
            if (!File.Exists(path))
                throw new SettingsException($"--config: the file {path} does not exist.");
            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix).Add(given);
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException e)
        {
            throw new SettingsException($"--config: {configFile} is not valid JSON: {e.InnerException?.Message ?? e.Message}");
        }
    }

    /// <summary>
    /// Binds section <paramref name="section"/> onto <paramref name="target"/> (which holds the
    /// defaults), then runs <paramref name="validate"/>. A list may also be given as one
    /// comma-separated value. Throws <see cref="SettingsException"/> naming the setting and its source.
    /// </summary>
    public static T Bind<T>(IConfiguration configuration, string section, T target, Action<T> validate)
        where T : class
    {
        var settings = configuration.GetSection(section);
        try
        {
            settings.Bind(target);
            // The binder appends configured items to a list's default items; a configured list replaces them.
            foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (property.PropertyType != typeof(IReadOnlyList<string>) || !property.CanWrite)
                    continue;
                var list = settings.GetSection(property.Name);
                if (list.Value is { } commaSeparated)
                    property.SetValue(target, commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                else if (list.GetChildren().ToList() is { Count: > 0 } items)
                    property.SetValue(target, items.OrderBy(i => int.TryParse(i.Key, out var n) ? n : int.MaxValue).Select(i => i.Value).OfType<string>().ToArray());
            }
        }
        catch (InvalidOperationException e) when (ConversionKey().Match(e.Message) is { Success: true } match)
        {
            var key = match.Groups[1].Value;
            throw new SettingsException($"{key}: '{configuration[key]}' is not a valid {FriendlyType(e.Message)}{SourceSuffix(configuration, key)}.");
        }
        try
        {
            validate(target);
        }
        catch (ArgumentException e)
        {
            var key = FailedKey(configuration, section, typeof(T), e) is { } found ? Canonical(section, typeof(T), found) : null;
            throw new SettingsException(key is null ? e.Message : $"{e.Message.TrimEnd('.')} ({key} = '{ValueOf(configuration, key)}'{SourceSuffix(configuration, key, comma: true)}).");
        }
        return target;
    }

    /// <summary>Where the value of <paramref name="key"/> comes from, in words: "flag --listen", "environment variable TIERED_…", "config file …", "default".</summary>
    public static string SourceOf(IConfiguration configuration, string key)
    {
        if (configuration is not IConfigurationRoot root)
            return "configuration";
        foreach (var provider in root.Providers.Reverse())
        {
            if (!provider.TryGet(key, out _) && !provider.GetChildKeys([], key).Any())
                continue;
            return provider switch
            {
                FlagSettings.Provider { Settings: var flags } => flags.Defaults ? $"the default of {flags.FlagOf(key)}" : $"flag {flags.FlagOf(key)}",
                EnvironmentVariablesConfigurationProvider => $"environment variable {EnvironmentPrefix}{key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant()}",
                FileConfigurationProvider { Source: var file } => $"config file {(file.FileProvider is PhysicalFileProvider physical ? Path.Combine(physical.Root, file.Path ?? "") : file.Path)}",
                _ => provider.ToString() ?? "configuration",
            };
        }
        return "the built-in default";
    }

    /// <summary>The value of <paramref name="key"/>, or a list's items joined with commas.</summary>
    private static string? ValueOf(IConfiguration configuration, string key)
        => configuration[key] ?? string.Join(',', configuration.GetSection(key).GetChildren().Select(c => c.Value));

    private static string SourceSuffix(IConfiguration configuration, string key, bool comma = false)
        => (comma ? ", from " : " (from ") + SourceOf(configuration, key) + (comma ? "" : ")");

    /// <summary>The setting a validation message is about: its parameter name, else a flag or property named in the message.</summary>
    private static string? FailedKey(IConfiguration configuration, string section, Type type, ArgumentException e)
    {
        var keys = configuration.GetSection(section).AsEnumerable(makePathsRelative: false).Where(p => p.Value is not null).Select(p => p.Key).ToList();
        var flags = configuration is IConfigurationRoot root ? root.Providers.OfType<FlagSettings.Provider>().Select(p => p.Settings).ToList() : [];
        var names = type.GetProperties().Select(p => p.Name).Prepend(e.ParamName).OfType<string>().ToList();
        foreach (var key in keys)
        {
            if (flags.Select(f => f.FlagOf(key)).OfType<string>().Any(flag => Mentions(e.Message, flag)))
                return BaseKey(key);
        }
        foreach (var name in names)
        {
            if ((name == e.ParamName || Mentions(e.Message, name)) && keys.FirstOrDefault(k => BaseKey(k).EndsWith(":" + name, StringComparison.OrdinalIgnoreCase)) is { } key)
                return BaseKey(key);
        }
        return null;
    }

    private static bool Mentions(string message, string word) => Regex.IsMatch(message, $@"(^|[^\w-]){Regex.Escape(word)}($|[^\w-])");

    /// <summary>The key spelled as the options spell it: ROLE:SIZE (from TIERED_ROLE__SIZE) → Role:Size.</summary>
    private static string Canonical(string section, Type type, string key)
    {
        var segments = key.Split(':');
        segments[0] = section;
        for (var i = 1; i < segments.Length; i++)
        {
            if (type.GetProperty(segments[i], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not { } property)
                break;
            segments[i] = property.Name;
            type = property.PropertyType;
        }
        return string.Join(':', segments);
    }

    /// <summary>Metadata:Peers:2 → Metadata:Peers (an item of a list names the list).</summary>
    private static string BaseKey(string key)
    {
        var last = key.LastIndexOf(':');
        return last > 0 && int.TryParse(key.AsSpan(last + 1), out _) ? key[..last] : key;
    }

    private static string FriendlyType(string message)
        => message.Contains("System.Int", StringComparison.Ordinal) ? "whole number"
            : message.Contains("System.Boolean", StringComparison.Ordinal) ? "true or false"
            : message.Contains("System.TimeSpan", StringComparison.Ordinal) ? "duration (hh:mm:ss)"
            : message.Contains("System.Double", StringComparison.Ordinal) ? "number"
            : "value";

    [GeneratedRegex("at '([^']+)'")]
    private static partial Regex ConversionKey();
}

/// <summary>A setting that cannot be used; the message names it, its value and where it came from.</summary>
public sealed class SettingsException(string message) : Exception(message);
