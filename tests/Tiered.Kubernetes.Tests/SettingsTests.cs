using Microsoft.Extensions.Configuration;
using Tiered.Bookie;
using Tiered.Broker;
using Tiered.Cluster;
using Tiered.Hosting;
using Tiered.Metadata;
using Tiered.Offloader;
using Tiered.Security.Hosting;
using static Tiered.Kubernetes.Tests.Manifests;

namespace Tiered.Kubernetes.Tests;

/// <summary>
/// The TIERED_ environment variables the manifests give each role bind to real settings, as the
/// <c>tiered</c> command binds them (TIERED_BROKER__GRPCLISTEN → Broker:GrpcListen), and pass the roles'
/// validation: a misspelt key or a bad value fails here instead of in a pod.
/// </summary>
public sealed class SettingsTests(RenderedManifests rendered) : IClassFixture<RenderedManifests>
{
    private static readonly Dictionary<string, string> Downward = new() { ["POD_NAME"] = "pod-0", ["POD_IP"] = "10.1.2.3" };

    [Theory]
    [InlineData("base", "StatefulSet", "tiered-metadata")]
    [InlineData("base", "StatefulSet", "tiered-bookie")]
    [InlineData("base", "Deployment", "tiered-broker")]
    [InlineData("example", "Deployment", "tiered-broker")]
    public void The_environment_of_each_role_binds_to_its_settings_and_validates(string manifests, string kind, string name)
    {
        var objects = manifests == "base" ? rendered.Base : rendered.Overlay;
        var environment = Environment(objects, Container(Find(objects, kind, name)), Downward);
        var settings = environment.Where(e => e.Key.StartsWith(TieredSettings.EnvironmentPrefix, StringComparison.Ordinal))
            .ToDictionary(e => e.Key[TieredSettings.EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal), e => (string?)e.Value);
        Assert.NotEmpty(settings);
        if (name == "tiered-metadata")
            settings["METADATA:NODEID"] = "1"; // --node-id, given on the command line by the pod's script
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var sections = settings.Keys.Select(k => k.Split(':')[0]).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        foreach (var section in sections)
        {
            switch (section.ToUpperInvariant())
            {
                case "METADATA" when name == "tiered-metadata":
                    Bind(configuration, MetadataHosting.Section, new MetadataNodeOptions(), o => o.Validate());
                    break;
                case "BOOKIE" when name == "tiered-bookie":
                    Bind(configuration, BookieHosting.Section, new BookieOptions(), o => o.Validate());
                    break;
                case "BROKER" when name == "tiered-broker":
                    // As `tiered broker` does: tiered storage on, spooled in the temporary folder.
                    Bind(configuration, BrokerHosting.Section, new BrokerOptions { TieredStorage = new TieredStorageOptions { SpoolDirectory = "/tmp/tiered-offload-spool" } }, o => o.Validate());
                    break;
                case "CLUSTER" when name == "tiered-broker":
                    Bind(configuration, ClusterHosting.Section, new BrokerClusterOptions(), o => o.Validate());
                    break;
                case "SECURITY":
                    Assert.True(Bind(configuration, SecurityOptions.Section, new SecurityOptions(), o => o.Validate()).AllowAnonymous);
                    break;
                default:
                    Assert.Fail($"{name} is given settings of section {section}, which its role does not read.");
                    break;
            }
        }
    }

    /// <summary>Binds as the command does, after checking that every key of the section names a setting (the binder ignores others).</summary>
    private static T Bind<T>(IConfiguration configuration, string section, T target, Action<T> validate)
        where T : class
    {
        foreach (var (key, _) in configuration.GetSection(section).AsEnumerable(makePathsRelative: true).Where(e => e.Value is not null))
            Assert.True(Names(typeof(T), key.Split(':')), $"{section}:{key} (TIERED_{section.ToUpperInvariant()}__{key.Replace(":", "__", StringComparison.Ordinal)}) is not a setting of {typeof(T).Name}.");
        return TieredSettings.Bind(configuration, section, target, validate);
    }

    /// <summary>Whether the configuration path names a property of <paramref name="type"/> (case-insensitive, nested records, list items).</summary>
    private static bool Names(Type type, string[] path)
    {
        var property = type.GetProperty(path[0], System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase);
        if (property is null || !property.CanWrite)
            return false;
        if (path.Length == 1)
            return true;
        var next = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        if (next == typeof(IReadOnlyList<string>))
            return path.Length == 2 && int.TryParse(path[1], out _);
        return Names(next, path[1..]);
    }
}
