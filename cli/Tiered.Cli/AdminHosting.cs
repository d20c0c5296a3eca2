using Tiered.AdminApi;
using Tiered.Broker;

namespace Tiered.Cli;

/// <summary>The admin REST API on a broker's HTTP endpoint.</summary>
internal static class AdminHosting
{
    public static readonly BrokerHttpExtension Extension = new(
        (services, options) => services.AddTieredAdmin(new AdminApiOptions { ClusterName = options.ClusterName, BrokerId = BrokerId(options) }),
        (app, broker) => app.MapTieredAdmin(broker.Metadata, broker.Admin, () => broker.IsReady));

    /// <summary>host:port of the broker's admin API, with the host it advertises (the listen address may be 0.0.0.0).</summary>
    public static string BrokerId(BrokerOptions options)
        => $"{new Uri(options.ResolvedAdvertisedUrl).Host}:{Tiered.Metadata.HostPort.Parse(options.HttpListen, "--http-listen").Port}";
}
