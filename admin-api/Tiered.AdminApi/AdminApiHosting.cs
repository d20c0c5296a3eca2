using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Tiered.Broker;
using Tiered.Hosting;
using Tiered.Metadata;

namespace Tiered.AdminApi;

/// <summary>The admin REST API as a role of a Tiered host, on the broker's HTTP endpoint.</summary>
public static class AdminApiHosting
{
    /// <summary>
    /// Adds the /admin/v2 API to the broker added before it (<c>AddTieredBroker</c>), on the
    /// broker's HTTP port. <paramref name="options"/> default to the broker's cluster, id, default bundles and de-duplication.
    /// </summary>
    public static IHostApplicationBuilder AddTieredAdminApi(this IHostApplicationBuilder builder, AdminApiOptions? options = null)
    {
        var broker = BrokerHosting.BrokerOptionsOf(builder);
        builder.Services.AddTieredAdmin(options ?? new AdminApiOptions
        {
            ClusterName = broker.ClusterName,
            BrokerId = broker.BrokerId,
            DefaultBundles = broker.DefaultBundles,
            DeduplicationEnabled = broker.DeduplicationEnabled,
        });
        builder.Services.AddSingleton<ITieredEndpoints>(new Endpoints(HostPort.Parse(broker.HttpListen, "--http-listen").Port));
        return builder;
    }

    private sealed class Endpoints(int httpPort) : ITieredEndpoints
    {
        public void Map(WebApplication app)
        {
            var broker = app.Services.GetRequiredService<BrokerHost>();
            // The store the broker's own policy cache watches writes through: a namespace's new bundles
            // (a split) are what this broker's gate sees at once, before the old bundle is unloaded.
            app.MapGroup("").RequireLocalPort(httpPort)
                .MapTieredAdmin(() => broker.Topics.Policies.Metadata, () => broker.Admin, () => broker.IsReady, () => broker.Bookies, () => broker.Topics.Ownership);
        }
    }
}
