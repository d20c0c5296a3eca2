using Microsoft.Extensions.Configuration;

namespace Tiered.Hosting.Tests;

/// <summary>Settings from flags, a config file and the environment, and the errors that name where a bad value came from.</summary>
public sealed class TieredSettingsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("tiered-settings-").FullName;
    private readonly List<string> _variables = [];

    private sealed record Sample
    {
        public string Listen { get; init; } = "127.0.0.1:1";
        public int Size { get; init; } = 1;
        public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);
        public IReadOnlyList<string> Peers { get; init; } = ["a"];
        public Nested Inner { get; init; } = new();

        public void Validate()
        {
            if (Size < 1)
                throw new ArgumentException($"--size must be at least 1 (was {Size}).");
            if (Interval <= TimeSpan.Zero)
                throw new ArgumentException("Interval must be positive.");
        }
    }

    private sealed record Nested
    {
        public int Depth { get; init; } = 3;
    }

    [Fact]
    public void Flags_given_beat_the_environment_which_beats_the_file_which_beats_flag_defaults()
    {
        var file = WriteFile("""{"Role": {"Listen": "file:1", "Size": 7, "Interval": "00:00:05", "Inner": {"Depth": 9}}}""");
        SetVariable("TIERED_ROLE__SIZE", "8");
        var defaults = new FlagSettings(defaults: true);
        defaults.Set("Role:Listen", "default:1", "--listen");
        defaults.Set("Role:Size", "2", "--size");
        var given = new FlagSettings(defaults: false);
        given.SetList("Role:Peers", ["x", "y"], "--peers");

        var sample = TieredSettings.Bind(TieredSettings.Build(defaults, file, given), "Role", new Sample(), s => s.Validate());

        Assert.Equal("file:1", sample.Listen);
        Assert.Equal(8, sample.Size);
        Assert.Equal(TimeSpan.FromSeconds(5), sample.Interval);
        Assert.Equal(["x", "y"], sample.Peers);
        Assert.Equal(9, sample.Inner.Depth);
    }

    [Fact]
    public void A_list_can_be_one_comma_separated_value()
    {
        SetVariable("TIERED_ROLE__PEERS", "h1:1, h2:2,h3:3");
        var sample = TieredSettings.Bind(TieredSettings.Build(new FlagSettings(true), null, new FlagSettings(false)), "Role", new Sample(), s => s.Validate());
        Assert.Equal(["h1:1", "h2:2", "h3:3"], sample.Peers);
    }

    [Fact]
    public void A_bad_value_from_the_environment_names_the_setting_and_the_variable()
    {
        SetVariable("TIERED_ROLE__SIZE", "0");
        var defaults = new FlagSettings(defaults: true);
        defaults.Set("Role:Size", "1", "--size");
        var error = Assert.Throws<SettingsException>(() =>
            TieredSettings.Bind(TieredSettings.Build(defaults, null, new FlagSettings(false)), "Role", new Sample(), s => s.Validate()));
        Assert.Contains("--size must be at least 1", error.Message, StringComparison.Ordinal);
        Assert.Contains("Role:Size = '0'", error.Message, StringComparison.Ordinal);
        Assert.Contains("environment variable TIERED_ROLE__SIZE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_value_from_a_flag_names_the_flag()
    {
        var given = new FlagSettings(defaults: false);
        given.Set("Role:Size", "-4", "--size");
        var error = Assert.Throws<SettingsException>(() =>
            TieredSettings.Bind(TieredSettings.Build(new FlagSettings(true), null, given), "Role", new Sample(), s => s.Validate()));
        Assert.Contains("flag --size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_of_the_wrong_type_in_the_config_file_names_the_setting_and_the_file()
    {
        var file = WriteFile("""{"Role": {"Inner": {"Depth": "deep"}}}""");
        var error = Assert.Throws<SettingsException>(() =>
            TieredSettings.Bind(TieredSettings.Build(new FlagSettings(true), file, new FlagSettings(false)), "Role", new Sample(), s => s.Validate()));
        Assert.Contains("Role:Inner:Depth: 'deep' is not a valid whole number", error.Message, StringComparison.Ordinal);
        Assert.Contains($"config file {file}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_property_named_in_the_message_is_found_without_a_flag()
    {
        var file = WriteFile("""{"Role": {"Interval": "-00:00:01"}}""");
        var error = Assert.Throws<SettingsException>(() =>
            TieredSettings.Bind(TieredSettings.Build(new FlagSettings(true), file, new FlagSettings(false)), "Role", new Sample(), s => s.Validate()));
        Assert.Contains("Role:Interval = '-00:00:01', from config file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_malformed_config_file_is_a_clear_error()
    {
        var missing = Path.Combine(_directory, "nope.json");
        Assert.Contains("does not exist", Assert.Throws<SettingsException>(() => TieredSettings.Build(new FlagSettings(true), missing, new FlagSettings(false))).Message, StringComparison.Ordinal);
        var bad = WriteFile("{ not json");
        Assert.Contains("is not valid JSON", Assert.Throws<SettingsException>(() => TieredSettings.Build(new FlagSettings(true), bad, new FlagSettings(false))).Message, StringComparison.Ordinal);
    }

    private string WriteFile(string json)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private void SetVariable(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        _variables.Add(name);
    }

    public void Dispose()
    {
        foreach (var name in _variables)
            Environment.SetEnvironmentVariable(name, null);
        Directory.Delete(_directory, recursive: true);
    }
}
