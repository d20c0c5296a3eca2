using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tiered.Broker;
using Tiered.Broker.Metadata;
using Tiered.Broker.Replication;
using Tiered.Broker.Topics;
using Tiered.Security.Hosting;

namespace Tiered.Replication;

public static class ReplicationHosting
{
    /// <summary>
    /// Lets the broker (added before, <c>AddTieredBroker</c>) replicate its topics to the clusters their namespaces
    /// name (docs/geo-replication.md): one <see cref="Replicator"/> per topic and remote cluster, on the topic's owner.
    /// </summary>
    public static IHostApplicationBuilder AddTieredReplication(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton(TieredSecurity.Off);
        builder.Services.AddSingleton<IReplicatorFactory, ReplicatorFactory>();
        return builder;
    }

    /// <summary>Starts the broker's replicators; they share one gRPC channel per remote broker and one HTTP client.</summary>
    private sealed class ReplicatorFactory(IOptions<BrokerOptions> options, PolicyStore policies, TieredSecurity security, ILoggerFactory loggerFactory,
        IServiceProvider services) : IReplicatorFactory, IDisposable
    {
        private readonly ReplicationChannels _channels = new(security.Options.ReplicationTokenFile, services.GetService<Tiered.Proto.Tls.TlsTrust>());
        private readonly ILogger _logger = loggerFactory.CreateLogger<Replicator>();

        public async Task<IReplicator> StartAsync(Topic topic, string remote, CancellationToken cancellationToken)
            => await Replicator.StartAsync(topic, remote, options.Value.ClusterName, policies, _channels, _logger, cancellationToken).ConfigureAwait(false);

        public void Dispose() => _channels.Dispose();
    }
}
