using Tiered.AdminApi;
using Tiered.Broker;

namespace Tiered.Cli;

/// <summary>The admin REST API on a broker's HTTP endpoint.</summary>
internal static class AdminHosting
{
    public static readonly BrokerHttpExtension Extension = new(
        (services, options) => services.AddTieredAdmin(new AdminApiOptions { ClusterName = options.ClusterName }),
        (app, broker) => app.MapTieredAdmin(broker.Metadata, broker.Admin, () => broker.IsReady));
}
