using Microsoft.Extensions.Configuration;

namespace Tiered.Hosting;

/// <summary>
/// Settings taken from command-line flags, as configuration keys (<c>Broker:GrpcListen</c>), each
/// remembering its flag so an error can say where a bad value came from. A command builds two:
/// the flags' defaults (below the config file and the environment) and the flags given (above them).
/// </summary>
public sealed class FlagSettings(bool defaults) : IConfigurationSource
{
    private readonly Dictionary<string, (string? Value, string Flag)> _values = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether these are the defaults of flags that were not given.</summary>
    public bool Defaults { get; } = defaults;

    public int Count => _values.Count;

    /// <summary>Sets <paramref name="key"/> from <paramref name="flag"/>.</summary>
    public void Set(string key, string? value, string flag) => _values[key] = (value, flag);

    /// <summary>Sets <paramref name="key"/>:0, :1, … from a list flag.</summary>
    public void SetList(string key, IReadOnlyList<string> values, string flag)
    {
        for (var i = 0; i < values.Count; i++)
            Set($"{key}:{i}", values[i], flag);
    }

    /// <summary>The flag that sets <paramref name="key"/> (or an item of it), if any.</summary>
    public string? FlagOf(string key)
        => _values.TryGetValue(key, out var entry) ? entry.Flag : _values.FirstOrDefault(e => e.Key.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase)).Value.Flag;

    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(this);

    internal sealed class Provider : ConfigurationProvider
    {
        public Provider(FlagSettings settings)
        {
            Settings = settings;
            foreach (var (key, (value, _)) in settings._values)
                Data[key] = value;
        }

        public FlagSettings Settings { get; }
    }
}
