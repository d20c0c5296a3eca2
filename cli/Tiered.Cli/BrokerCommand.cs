using System.CommandLine;
using Microsoft.Extensions.Logging;
using Tiered.Broker;
using Tiered.ManagedLedgers;
using Tiered.Metadata;

namespace Tiered.Cli;

/// <summary><c>tiered broker</c>: one broker, serving producers, consumers and the admin REST API.</summary>
internal static class BrokerCommand
{
    public static Command Create()
    {
        var metadata = new Option<string>("--metadata")
        {
            HelpName = "HOST:PORT,...",
            Description = "Client addresses of the metadata service nodes.",
            DefaultValueFactory = _ => "127.0.0.1:2181",
        };
        var grpcListen = new Option<string>("--grpc-listen")
        {
            HelpName = "HOST:PORT",
            Description = "Address of the gRPC endpoint for producers and consumers.",
            DefaultValueFactory = _ => "127.0.0.1:6650",
        };
        var httpListen = new Option<string>("--http-listen")
        {
            HelpName = "HOST:PORT",
            Description = "Address of the admin REST API (/admin/v2).",
            DefaultValueFactory = _ => "127.0.0.1:8080",
        };
        var advertisedUrl = new Option<string?>("--advertised-url")
        {
            HelpName = "URL",
            Description = "The gRPC URL clients are told to connect to (default http://GRPC_LISTEN).",
        };
        var ensemble = new Option<int>("--ensemble-size") { HelpName = "N", Description = "Bookies each ledger is striped over.", DefaultValueFactory = _ => 2 };
        var writeQuorum = new Option<int>("--write-quorum") { HelpName = "N", Description = "Bookies each entry is written to.", DefaultValueFactory = _ => 2 };
        var ackQuorum = new Option<int>("--ack-quorum") { HelpName = "N", Description = "Bookies that must confirm an entry before the producer gets its receipt.", DefaultValueFactory = _ => 2 };
        var offload = new OffloadOptions();
        var command = new Command(
            "broker",
            "Run a broker: it serves topics to producers and consumers over gRPC, stores every message on a quorum "
            + "of bookies before acknowledging it, and hosts the admin REST API. Runs until SIGINT or SIGTERM.")
        {
            metadata, grpcListen, httpListen, advertisedUrl, ensemble, writeQuorum, ackQuorum,
        };
        foreach (var option in offload.All)
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            MetadataCommand.SplitList(parseResult.GetValue(metadata)!),
            offload.Apply(new BrokerOptions
            {
                GrpcListen = parseResult.GetValue(grpcListen)!,
                HttpListen = parseResult.GetValue(httpListen)!,
                AdvertisedUrl = parseResult.GetValue(advertisedUrl),
                ManagedLedger = new ManagedLedgerOptions
                {
                    EnsembleSize = parseResult.GetValue(ensemble),
                    WriteQuorum = parseResult.GetValue(writeQuorum),
                    AckQuorum = parseResult.GetValue(ackQuorum),
                },
            }, parseResult, Path.Combine(Path.GetTempPath(), "tiered-offload-spool"), defaultDirectory: null),
            parseResult,
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(IReadOnlyList<string> metadataAddresses, BrokerOptions options, ParseResult parseResult, CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            return Exit.Error(Exit.BadOptions, e.Message);
        }
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        var logger = loggerFactory.CreateLogger("Tiered.Cli.Broker");
        using var shutdown = new Shutdown(cancellationToken);
        using var idleMemory = IdleMemoryRelease.Start(logger);
        await using var metadata = new MetadataClient(metadataAddresses);
        BrokerServer server;
        try
        {
            server = await BrokerServer.StartAsync(options, metadata, loggerFactory, AdminHosting.Extension, shutdown.Token);
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return Exit.Ok;
        }
        catch (Exception e)
        {
            logger.Failed(e, "broker");
            return Exit.Error(Exit.Failed, $"the broker could not start: {e.Message}");
        }
        await using (server)
        {
            Console.WriteLine($"broker listening on {options.ResolvedAdvertisedUrl} (gRPC) and http://{options.HttpListen} (admin)");
            await shutdown.WaitAsync();
            logger.Stopping("broker");
        }
        logger.Stopped("broker");
        return Exit.Ok;
    }
}
