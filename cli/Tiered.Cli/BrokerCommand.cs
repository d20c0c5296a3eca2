using System.CommandLine;
using Tiered.AdminApi;
using Tiered.Broker;
using Tiered.Cluster;
using Tiered.Hosting;
using Tiered.Offloader;
using Tiered.Replication;
using Tiered.Security.Hosting;

namespace Tiered.Cli;

/// <summary><c>tiered broker</c>: one broker, serving producers, consumers and the admin REST API.</summary>
internal static class BrokerCommand
{
    /// <summary>The broker flags <c>tiered standalone</c> takes as well.</summary>
    public static void AddSharedFlags(SettingFlags flags)
    {
        flags.Add(new Option<string>("--cluster-name")
        {
            HelpName = "NAME",
            Description = "The cluster this broker belongs to (created with tiered initialize-cluster; standalone registers it itself). Geo-replicated clusters each have their own name, "
                + "so two standalones on one machine with different names are two clusters.",
            DefaultValueFactory = _ => "standalone",
        }, "Broker:ClusterName");
        flags.Add(new Option<int>("--default-bundles")
        {
            HelpName = "N",
            Description = "Bundles (units of ownership, ranges of topic-name hashes) a namespace gets when created without numBundles.",
            DefaultValueFactory = _ => 4,
        }, "Broker:DefaultBundles");
        flags.Add(new Option<bool>("--deduplication-enabled")
        {
            HelpName = "true|false",
            Description = "Producer de-duplication where neither the topic nor its namespace sets it: a batch a producer sends again "
                + "(after a lost receipt) is stored once and answered with its original message id. On by default.",
            DefaultValueFactory = _ => true,
            Arity = ArgumentArity.ExactlyOne,
        }, "Broker:DeduplicationEnabled", on => on ? "true" : "false");
        flags.Add(new Option<bool>("--topic-level-metrics")
        {
            Description = "Export every metric per topic too (label topic), not only per namespace; each topic adds series to /metrics.",
        }, "Broker:ExposeTopicLevelMetrics", on => on ? "true" : null);
    }

    public static Command Create()
    {
        var flags = new SettingFlags();
        flags.AddList(new Option<string>("--metadata")
        {
            HelpName = "HOST:PORT,...",
            Description = "Client addresses of the metadata service nodes.",
            DefaultValueFactory = _ => "127.0.0.1:2181",
        }, "Broker:Metadata");
        flags.Add(new Option<string>("--grpc-listen")
        {
            HelpName = "HOST:PORT",
            Description = "Address of the gRPC endpoint for producers and consumers.",
            DefaultValueFactory = _ => "127.0.0.1:6650",
        }, "Broker:GrpcListen");
        flags.Add(new Option<string>("--http-listen")
        {
            HelpName = "HOST:PORT",
            Description = "Address of the HTTP endpoint: the admin REST API (/admin/v2), /health/live, /health/ready and /metrics.",
            DefaultValueFactory = _ => "127.0.0.1:8080",
        }, "Broker:HttpListen");
        flags.Add(new Option<string?>("--advertised-url")
        {
            HelpName = "URL",
            Description = "The gRPC URL clients are told to connect to (default http://GRPC_LISTEN).",
        }, "Broker:AdvertisedUrl");
        flags.Add(new Option<int>("--ensemble-size") { HelpName = "N", Description = "Bookies each ledger is striped over.", DefaultValueFactory = _ => 2 }, "Broker:ManagedLedger:EnsembleSize");
        flags.Add(new Option<int>("--write-quorum") { HelpName = "N", Description = "Bookies each entry is written to.", DefaultValueFactory = _ => 2 }, "Broker:ManagedLedger:WriteQuorum");
        flags.Add(new Option<int>("--ack-quorum") { HelpName = "N", Description = "Bookies that must confirm an entry before the producer gets its receipt.", DefaultValueFactory = _ => 2 }, "Broker:ManagedLedger:AckQuorum");
        AddSharedFlags(flags);
        flags.Add(new Option<int>("--silo-port")
        {
            HelpName = "PORT",
            Description = "The port brokers of the cluster talk to each other on (membership, bundle placement), on the advertised address.",
            DefaultValueFactory = _ => 11111,
        }, "Cluster:SiloPort");
        flags.Add(new Option<double>("--balance-interval")
        {
            HelpName = "SECONDS",
            Description = "How often brokers publish their load and one of them moves at most one bundle from a busy broker to an idle one (0: no balancing).",
            DefaultValueFactory = _ => 10,
        }, "Cluster:BalanceInterval", seconds => TimeSpan.FromSeconds(seconds).ToString("c", System.Globalization.CultureInfo.InvariantCulture));
        flags.Add(new Option<int>("--max-moves-per-minute")
        {
            HelpName = "N",
            Description = "Bundle moves the load balancer makes per minute at most, cluster-wide.",
            DefaultValueFactory = _ => 6,
        }, "Cluster:MaxMovesPerMinute");
        OffloadOptions.AddTo(flags);
        SecurityFlags.AddTo(flags, componentToken: true, replicationToken: true);
        flags.AddTls();
        flags.AddTlsTrust();
        var command = new Command(
            "broker",
            "Run a broker: it serves topics to producers and consumers over gRPC, stores every message on a quorum "
            + "of bookies before acknowledging it, and hosts the admin REST API. Brokers of one cluster (--cluster-name, "
            + "same metadata service) share the namespace bundles between them and take over those of a broker that "
            + "stops or fails. Runs until SIGINT or SIGTERM (which hands its bundles over first).");
        flags.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            BrokerOptions? options = null;
            var scheme = "http";
            return ServerRun.RunAsync(parseResult, flags, "the broker",
                (configuration, builder) =>
                {
                    scheme = TieredListeners.Of(builder).Scheme;
                    // Tiered storage is on, so that namespaces naming a store offload; spooled in the temporary directory.
                    var defaults = new BrokerOptions { TieredStorage = new TieredStorageOptions { SpoolDirectory = Path.Combine(Path.GetTempPath(), "tiered-offload-spool") } };
                    options = TieredSettings.Bind(configuration, BrokerHosting.Section, defaults, o => o.Validate()) with { Tls = scheme == "https" };
                    var cluster = TieredSettings.Bind(configuration, ClusterHosting.Section, new BrokerClusterOptions(), o => o.Validate());
                    builder.AddTieredBroker(options).AddTieredReplication().AddTieredAdminApi().AddTieredBrokerCluster(cluster);
                    SecurityFlags.Apply(builder, configuration, "the broker");
                },
                _ => $"broker listening on {options!.ResolvedAdvertisedUrl} (gRPC) and {scheme}://{options.HttpListen} (admin)",
                cancellationToken);
        });
        return command;
    }
}
