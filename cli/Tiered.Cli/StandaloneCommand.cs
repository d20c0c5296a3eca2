using System.CommandLine;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Bookie;
using Tiered.Broker;
using Tiered.ManagedLedgers;
using Tiered.Metadata;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered standalone</c>: every role in one process on loopback, the way to try Tiered on one
/// machine: a single-node metadata service, one bookie, and a broker with the admin REST API;
/// the "standalone" cluster, the "public" tenant and the "public/default" namespace are created
/// on first start, as Pulsar's standalone does. Every entry is written to the one bookie
/// (ensemble = write quorum = ack quorum = 1) and fsynced before it is acknowledged.
/// </summary>
internal static class StandaloneCommand
{
    /// <summary>The Raft port is the metadata port plus this.</summary>
    private const int RaftPortOffset = 100;

    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir")
        {
            HelpName = "DIR",
            Description = "Directory that holds all data (metadata in <DIR>/metadata); created if missing.",
            DefaultValueFactory = _ => "./data",
        };
        var metadataPort = new Option<int>("--metadata-port")
        {
            HelpName = "PORT",
            Description = $"Port of the metadata gRPC endpoint on 127.0.0.1; its Raft port is this plus {RaftPortOffset}.",
            DefaultValueFactory = _ => 2181,
        };
        var bookiePort = new Option<int>("--bookie-port")
        {
            HelpName = "PORT",
            Description = "Port of the embedded bookie on 127.0.0.1.",
            DefaultValueFactory = _ => 3181,
        };
        var grpcPort = new Option<int>("--grpc-port")
        {
            HelpName = "PORT",
            Description = "Port of the broker's gRPC endpoint (producers and consumers) on 127.0.0.1.",
            DefaultValueFactory = _ => 6650,
        };
        var httpPort = new Option<int>("--http-port")
        {
            HelpName = "PORT",
            Description = "Port of the admin REST API (/admin/v2) on 127.0.0.1.",
            DefaultValueFactory = _ => 8080,
        };
        var journalPreallocation = BookieCommand.JournalPreallocationOption();
        var offload = new OffloadOptions();
        var command = new Command(
            "standalone",
            "Run Tiered on this machine in one process, listening on 127.0.0.1 only: a single-node "
            + "metadata service, one bookie, and a broker (gRPC on --grpc-port, admin REST on --http-port). "
            + "The 'standalone' cluster, the 'public' tenant and the 'public/default' namespace are created "
            + "on first start; data is kept in --data-dir across restarts. Closed ledgers can be offloaded to "
            + "Parquet objects, by default in <DIR>/offload. Runs until SIGINT or SIGTERM.")
        {
            dataDir, metadataPort, bookiePort, grpcPort, httpPort, journalPreallocation,
        };
        foreach (var option in offload.All)
            command.Options.Add(option);
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            Path.GetFullPath(parseResult.GetValue(dataDir)!),
            parseResult.GetValue(metadataPort),
            parseResult.GetValue(bookiePort),
            parseResult.GetValue(grpcPort),
            parseResult.GetValue(httpPort),
            BookieCommand.Mebibytes(parseResult.GetValue(journalPreallocation)),
            offload,
            parseResult,
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string dataDir, int metadataPort, int bookiePort, int grpcPort, int httpPort, long journalPreallocationBytes, OffloadOptions offload, ParseResult parseResult, CancellationToken cancellationToken)
    {
        foreach (var (name, port) in new[] { ("--bookie-port", bookiePort), ("--grpc-port", grpcPort), ("--http-port", httpPort) })
        {
            if (port is < 1 or > 65535)
                return Exit.Error(Exit.BadOptions, $"{name} must be between 1 and 65535.");
        }
        if (metadataPort is < 1 or > 65535 - RaftPortOffset)
            return Exit.Error(Exit.BadOptions, $"--metadata-port must be between 1 and {65535 - RaftPortOffset} (the Raft port is --metadata-port + {RaftPortOffset}).");

        try
        {
            new BookieOptions { JournalPreallocationBytes = journalPreallocationBytes }.Validate();
        }
        catch (ArgumentException e)
        {
            return Exit.Error(Exit.BadOptions, e.Message);
        }

        try
        {
            // The offload options, checked before anything starts.
            offload.Apply(new BrokerOptions(), parseResult, Path.Combine(dataDir, "offload-spool"), Path.Combine(dataDir, "offload")).Validate();
        }
        catch (ArgumentException e)
        {
            return Exit.Error(Exit.BadOptions, e.Message);
        }

        var options = new MetadataNodeOptions
        {
            NodeId = 1,
            Listen = $"127.0.0.1:{metadataPort}",
            Peers = [$"127.0.0.1:{metadataPort + RaftPortOffset}"],
            DataDir = Path.Combine(dataDir, "metadata"),
        };
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        var logger = loggerFactory.CreateLogger("Tiered.Cli.Standalone");
        using var shutdown = new Shutdown(cancellationToken);
        using var idleMemory = IdleMemoryRelease.Start(logger);

        var (server, exitCode) = await MetadataCommand.TryStartAsync(options, loggerFactory, logger, shutdown.Token);
        if (server is null)
            return exitCode;

        await using (server)
        {
            try
            {
                await server.WaitForLeaderAsync(TimeSpan.FromSeconds(30), shutdown.Token);
                await CreateDefaultsAsync(server.Store, grpcPort, httpPort, logger, shutdown.Token);
            }
            catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
            {
                return Exit.Ok;
            }
            catch (Exception e)
            {
                logger.Failed(e, "Preparing the standalone metadata");
                return Exit.Error(Exit.Failed, $"standalone could not prepare its metadata: {e.Message}");
            }

            BookieServer bookie;
            try
            {
                bookie = await BookieServer.StartAsync(new BookieOptions
                {
                    Listen = $"127.0.0.1:{bookiePort}",
                    DataDir = Path.Combine(dataDir, "bookie"),
                    Metadata = [server.ClientAddress],
                    JournalPreallocationBytes = journalPreallocationBytes,
                }, loggerFactory, server.Store, shutdown.Token);
            }
            catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
            {
                return Exit.Ok;
            }
            catch (Exception e)
            {
                logger.Failed(e, "Starting the standalone bookie");
                return Exit.Error(Exit.Failed, $"standalone could not start its bookie on 127.0.0.1:{bookiePort}: {e.Message}");
            }

            await using (bookie)
            {
                BrokerServer broker;
                try
                {
                    var brokerOptions = offload.Apply(new BrokerOptions
                    {
                        GrpcListen = $"127.0.0.1:{grpcPort}",
                        HttpListen = $"127.0.0.1:{httpPort}",
                        ManagedLedger = new ManagedLedgerOptions { EnsembleSize = 1, WriteQuorum = 1, AckQuorum = 1 },
                        // The broker's entries reach the bookie by reference, not through loopback HTTP/2.
                        LocalBookies = new Dictionary<string, CallInvoker> { [bookie.BookieId] = bookie.LocalInvoker },
                    }, parseResult, Path.Combine(dataDir, "offload-spool"), defaultDirectory: Path.Combine(dataDir, "offload"));
                    broker = await BrokerServer.StartAsync(brokerOptions, server.Store, loggerFactory, AdminHosting.Extension, shutdown.Token);
                }
                catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
                {
                    return Exit.Ok;
                }
                catch (Exception e)
                {
                    logger.Failed(e, "Starting the standalone broker");
                    return Exit.Error(Exit.Failed, $"standalone could not start its broker on 127.0.0.1:{grpcPort} (gRPC) and 127.0.0.1:{httpPort} (HTTP): {e.Message}");
                }
                await using (broker)
                {
                    Console.WriteLine($"Tiered standalone ready: broker on http://127.0.0.1:{grpcPort}, admin API on http://127.0.0.1:{httpPort}, "
                        + $"metadata on {server.ClientAddress}, bookie on http://{bookie.BookieId}, data in {dataDir}");
                    await shutdown.WaitAsync();
                    logger.Stopping("standalone");
                }
            }
        }
        logger.Stopped("standalone");
        return Exit.Ok;
    }

    /// <summary>Creates what Pulsar's standalone starts with, leaving keys that already exist as they are.</summary>
    private static async Task CreateDefaultsAsync(IMetadataStore store, int grpcPort, int httpPort, ILogger logger, CancellationToken cancellationToken)
    {
        (string Key, byte[] Value)[] defaults =
        [
            ("/admin/clusters/standalone", System.Text.Encoding.UTF8.GetBytes($$"""{"serviceUrl":"http://127.0.0.1:{{httpPort}}","brokerServiceUrl":"http://127.0.0.1:{{grpcPort}}"}""")),
            ("/admin/tenants/public", """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray()),
            ("/admin/policies/public/default", """{"replication_clusters":["standalone"]}"""u8.ToArray()),
        ];
        foreach (var (key, value) in defaults)
        {
            try
            {
                await store.PutAsync(key, value, expectedVersion: -1, cancellationToken: cancellationToken);
                logger.Created(key);
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                // Created by an earlier run; an operator may have changed it since.
            }
        }
    }
}
