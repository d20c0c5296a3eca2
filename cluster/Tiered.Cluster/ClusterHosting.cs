using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Tiered.Broker;
using Tiered.Broker.Metadata;
using Tiered.Broker.Ownership;
using Tiered.Cluster.Balancing;
using Tiered.Cluster.Membership;
using Tiered.Cluster.Ownership;
using Tiered.Cluster.Placement;
using Tiered.Hosting;
using Tiered.Metadata;

namespace Tiered.Cluster;

/// <summary>The cluster side of a broker: it joins the other brokers of its cluster and shares the bundles with them.</summary>
public static class ClusterHosting
{
    /// <summary>The configuration section of <see cref="BrokerClusterOptions"/>.</summary>
    public const string Section = "Cluster";

    /// <summary>
    /// Makes the broker (added before, <c>AddTieredBroker</c>) a member of its cluster: an Orleans
    /// silo named by the broker id, in the Orleans cluster named by the broker's cluster name, whose
    /// membership table is the metadata service; the ownership gate becomes
    /// <see cref="ClusterOwnershipGate"/>. On stop, the broker hands its bundles over before it
    /// closes its topics.
    /// </summary>
    public static IHostApplicationBuilder AddTieredBrokerCluster(this IHostApplicationBuilder builder, BrokerClusterOptions cluster)
    {
        cluster.Validate();
        var broker = BrokerHosting.BrokerOptionsOf(builder);
        var advertised = AdvertisedAddress(broker);
        RequireFreePort(new IPEndPoint(advertised, cluster.SiloPort));
        builder.Services.AddSingleton(cluster);
        builder.Services.TryAddSingleton(broker);
        builder.Services.AddSingleton<OwnershipView>();
        builder.Services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ClusterOwnershipGate>(sp, broker));
        builder.Services.Replace(ServiceDescriptor.Singleton<IOwnershipGate>(sp => sp.GetRequiredService<ClusterOwnershipGate>()));
        builder.Services.AddHostedSingleton<ClusterMember>();
        builder.Services.AddHostedService<LoadBalancer>();
        builder.Services.AddHealthChecks().AddReadinessCheck<MembershipCheck>("cluster");
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (broker.ClusterName, "tiered"));
            silo.Configure<SiloOptions>(o => o.SiloName = broker.BrokerId);
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = advertised;
                o.SiloPort = cluster.SiloPort;
                o.SiloListeningEndpoint = new IPEndPoint(advertised, cluster.SiloPort);
                o.GatewayPort = 0;
            });
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = cluster.ProbeTimeout;
                o.NumMissedProbesLimit = cluster.MissedProbes;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(10);
                // A silo that starts while the only other member is dead and undeclared (a lone broker
                // restarted on another address) waits until that member's heartbeat is two periods old.
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
            });
            silo.Services.AddSingleton<IMembershipTable>(sp => new MetadataMembershipTable(sp.GetRequiredService<IMetadataStore>(), broker.ClusterName));
            silo.AddPlacementDirector<BundlePlacementStrategy, BundlePlacementDirector>();
        });
        return builder;
    }

    /// <summary>
    /// A taken silo port would otherwise fail deep inside Orleans' start, with a message that does not
    /// name the setting; checked when the host is built, before Orleans binds it.
    /// </summary>
    private static void RequireFreePort(IPEndPoint endpoint)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(endpoint);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new ArgumentException($"The silo port {endpoint} (--silo-port, where brokers talk to each other) is in use by another process; choose another port.", e);
        }
    }

    /// <summary>The IP address other brokers reach this one at: the broker's advertised host, resolved (IPv4 first).</summary>
    private static IPAddress AdvertisedAddress(BrokerOptions broker)
    {
        var host = new Uri(broker.ResolvedAdvertisedUrl).Host;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
            return address;
        var resolved = Dns.GetHostAddresses(host);
        return resolved.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? resolved.FirstOrDefault()
            ?? throw new ArgumentException($"The advertised host '{host}' does not resolve to an address; other brokers could not reach this one.");
    }

    /// <summary>The broker's membership in its cluster: ownership records watched from the start, bundles handed over on stop.</summary>
    private sealed class ClusterMember(OwnershipView view, ClusterOwnershipGate gate) : IHostedLifecycleService
    {
        public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken) => view.StartAsync(cancellationToken);

        public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StoppingAsync(CancellationToken cancellationToken) => gate.LeaveAsync(cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken) => await view.DisposeAsync().ConfigureAwait(false);

        public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Ready once this broker's silo is an active member of the cluster (it may then own bundles).</summary>
    private sealed class MembershipCheck(IClusterMembershipService membership, BrokerOptions broker) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var self = membership.CurrentSnapshot.Members.Values.FirstOrDefault(m => m.Name == broker.BrokerId && m.Status == SiloStatus.Active);
            return Task.FromResult(self is not null
                ? HealthCheckResult.Healthy($"{broker.BrokerId} is an active member of cluster {broker.ClusterName}")
                : HealthCheckResult.Unhealthy($"{broker.BrokerId} has not joined cluster {broker.ClusterName} yet"));
        }
    }
}
