using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tiered.AdminApi;
using Tiered.Bookie;
using Tiered.Broker;
using Tiered.Broker.Metadata;
using Tiered.Hosting;
using Tiered.ManagedLedgers;
using Tiered.Metadata;
using Tiered.Offloader;
using Tiered.Offloader.Stores;
using Tiered.Replication;
using Tiered.Security.Hosting;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered standalone</c>: every role in one process on loopback, the way to try Tiered on one
/// machine: a single-node metadata service, one bookie, and a broker with the admin REST API, in
/// one host (one Kestrel server, one DI container); the "standalone" cluster, the "public" tenant
/// and the "public/default" namespace are created on first start, as Pulsar's standalone does.
/// Every entry is written to the one bookie (ensemble = write quorum = ack quorum = 1) and
/// fsynced before it is acknowledged.
/// </summary>
internal static class StandaloneCommand
{
    /// <summary>The Raft port is the metadata port plus this.</summary>
    private const int RaftPortOffset = 100;

    /// <summary>Settings of standalone itself (section "Standalone"); the roles' own sections refine what they derive.</summary>
    internal sealed record StandaloneOptions
    {
        public string DataDir { get; init; } = "./data";
        public int MetadataPort { get; init; } = 2181;
        public int BookiePort { get; init; } = 3181;
        public int GrpcPort { get; init; } = 6650;
        public int HttpPort { get; init; } = 8080;

        public void Validate()
        {
            foreach (var (name, port) in new[] { ("--bookie-port", BookiePort), ("--grpc-port", GrpcPort), ("--http-port", HttpPort) })
            {
                if (port is < 1 or > 65535)
                    throw new ArgumentException($"{name} must be between 1 and 65535.");
            }
            if (MetadataPort is < 1 or > 65535 - RaftPortOffset)
                throw new ArgumentException($"--metadata-port must be between 1 and {65535 - RaftPortOffset} (the Raft port is --metadata-port + {RaftPortOffset}).");
        }
    }

    public static Command Create()
    {
        var flags = new SettingFlags();
        flags.Add(new Option<string>("--data-dir")
        {
            HelpName = "DIR",
            Description = "Directory that holds all data (metadata in <DIR>/metadata); created if missing.",
            DefaultValueFactory = _ => "./data",
        }, "Standalone:DataDir");
        flags.Add(new Option<int>("--metadata-port")
        {
            HelpName = "PORT",
            Description = $"Port of the metadata gRPC endpoint on 127.0.0.1; its Raft port is this plus {RaftPortOffset}.",
            DefaultValueFactory = _ => 2181,
        }, "Standalone:MetadataPort");
        flags.Add(new Option<int>("--bookie-port")
        {
            HelpName = "PORT",
            Description = "Port of the embedded bookie on 127.0.0.1.",
            DefaultValueFactory = _ => 3181,
        }, "Standalone:BookiePort");
        flags.Add(new Option<int>("--grpc-port")
        {
            HelpName = "PORT",
            Description = "Port of the broker's gRPC endpoint (producers and consumers) on 127.0.0.1.",
            DefaultValueFactory = _ => 6650,
        }, "Standalone:GrpcPort");
        flags.Add(new Option<int>("--http-port")
        {
            HelpName = "PORT",
            Description = "Port of the HTTP endpoint on 127.0.0.1: the admin REST API (/admin/v2), /health/live, /health/ready and /metrics.",
            DefaultValueFactory = _ => 8080,
        }, "Standalone:HttpPort");
        flags.Add(BookieCommand.JournalPreallocationOption(), "Bookie:JournalPreallocationBytes", SettingFlags.Mebibytes);
        BrokerCommand.AddSharedFlags(flags);
        OffloadOptions.AddTo(flags);
        SecurityFlags.AddTo(flags, componentToken: false, replicationToken: true);
        flags.AddTls();
        flags.AddTlsTrust();
        var command = new Command(
            "standalone",
            "Run Tiered on this machine in one process, listening on 127.0.0.1 only: a single-node "
            + "metadata service, one bookie, and a broker (gRPC on --grpc-port, admin REST, health and metrics on --http-port). "
            + "The cluster (--cluster-name, 'standalone' unless told otherwise) is registered with its URLs, the 'public' tenant allowed on it and "
            + "the 'public/default' namespace replicated to it are created on first start; data is kept in --data-dir across restarts. Closed ledgers can be offloaded to "
            + "Parquet objects, by default in <DIR>/offload. Runs until SIGINT or SIGTERM.");
        flags.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            StandaloneOptions? standalone = null;
            var scheme = "http";
            return ServerRun.RunAsync(parseResult, flags, "standalone",
                (configuration, builder) =>
                {
                    scheme = TieredListeners.Of(builder).Scheme;
                    standalone = AddRoles(configuration, builder);
                },
                _ => $"Tiered standalone ready: broker on {scheme}://127.0.0.1:{standalone!.GrpcPort}, admin API on {scheme}://127.0.0.1:{standalone.HttpPort}, "
                    + $"metadata on {scheme}://127.0.0.1:{standalone.MetadataPort}, bookie on {scheme}://127.0.0.1:{standalone.BookiePort}, data in {standalone.DataDir}",
                cancellationToken);
        });
        return command;
    }

    private static StandaloneOptions AddRoles(Microsoft.Extensions.Configuration.IConfiguration configuration, IHostApplicationBuilder builder)
    {
        var standalone = TieredSettings.Bind(configuration, "Standalone", new StandaloneOptions(), o => o.Validate());
        var dataDir = Path.GetFullPath(standalone.DataDir);
        standalone = standalone with { DataDir = dataDir };
        var metadata = TieredSettings.Bind(configuration, MetadataHosting.Section, new MetadataNodeOptions
        {
            NodeId = 1,
            Listen = $"127.0.0.1:{standalone.MetadataPort}",
            Peers = [$"127.0.0.1:{standalone.MetadataPort + RaftPortOffset}"],
            DataDir = Path.Combine(dataDir, "metadata"),
        }, o => o.Validate());
        var bookie = TieredSettings.Bind(configuration, BookieHosting.Section, new BookieOptions
        {
            Listen = $"127.0.0.1:{standalone.BookiePort}",
            DataDir = Path.Combine(dataDir, "bookie"),
            Metadata = [metadata.Listen],
        }, o => o.Validate());
        var broker = TieredSettings.Bind(configuration, BrokerHosting.Section, new BrokerOptions
        {
            GrpcListen = $"127.0.0.1:{standalone.GrpcPort}",
            HttpListen = $"127.0.0.1:{standalone.HttpPort}",
            ManagedLedger = new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1 },
            TieredStorage = new TieredStorageOptions { SpoolDirectory = Path.Combine(dataDir, "offload-spool") },
            DefaultOffloadStore = new ObjectStoreSettings { Driver = ObjectStores.FileSystemDriver, Directory = Path.Combine(dataDir, "offload") },
        }, o => o.Validate()) with { Tls = TieredListeners.Of(builder).Certificate is not null };

        builder.AddTieredMetadataNode(metadata);
        builder.Services.AddHostedService<Setup>();
        builder.AddTieredBookie(bookie);
        builder.AddTieredBroker(broker).AddTieredReplication().AddTieredAdminApi();
        SecurityFlags.Apply(builder, configuration, "standalone");
        return standalone;
    }

    /// <summary>Between the metadata node and the bookie: waits for the node to lead, then creates the defaults.</summary>
    private sealed class Setup(IServiceProvider services, Microsoft.Extensions.Options.IOptions<BrokerOptions> broker, ILoggerFactory loggerFactory) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await MetadataHosting.WaitForLeaderAsync(services, TimeSpan.FromSeconds(30), cancellationToken);
            var store = services.GetRequiredService<IMetadataStore>();
            var logger = loggerFactory.CreateLogger("Tiered.Cli.Standalone");
            foreach (var key in await ClusterDefaults.CreateAsync(store, broker.Value.ClusterName, broker.Value.AdvertisedHttpUrl, broker.Value.ResolvedAdvertisedUrl, cancellationToken,
                broker.Value.DefaultBundles))
                logger.Created(key);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
