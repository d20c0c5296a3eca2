using System.CommandLine;
using Microsoft.Extensions.Logging;
using Tiered.Metadata;

namespace Tiered.Cli;

/// <summary><c>tiered metadata</c>: one node of the Raft-replicated metadata service.</summary>
internal static class MetadataCommand
{
    public static Command Create()
    {
        var nodeId = new Option<int>("--node-id")
        {
            HelpName = "N",
            Description = "This node's 1-based position in --peers.",
            DefaultValueFactory = _ => 1,
        };
        var listen = new Option<string>("--listen")
        {
            HelpName = "HOST:PORT",
            Description = "HOST:PORT of the gRPC endpoint that clients and other Tiered processes connect to.",
            DefaultValueFactory = _ => MetadataNodeOptions.DefaultListen,
        };
        var peers = new Option<string>("--peers")
        {
            HelpName = "HOST:PORT,...",
            Description = "Comma-separated Raft HOST:PORT of every voting node (1, 3, 5 or 7 of them), this one included, "
                + "in the same order on every node.",
            DefaultValueFactory = _ => MetadataNodeOptions.DefaultPeer,
        };
        var dataDir = new Option<string>("--data-dir")
        {
            HelpName = "DIR",
            Description = "Directory of this node's Raft log and snapshots; created if missing.",
            DefaultValueFactory = _ => "./data/metadata",
        };

        var command = new Command(
            "metadata",
            "Run one node of the metadata service: a versioned key-value store replicated with Raft. "
            + "Start 1 node, or 3 or 5 nodes that list each other in --peers. Runs until SIGINT or SIGTERM.")
        {
            nodeId, listen, peers, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new MetadataNodeOptions
            {
                NodeId = parseResult.GetValue(nodeId),
                Listen = parseResult.GetValue(listen)!,
                Peers = SplitList(parseResult.GetValue(peers)!),
                DataDir = parseResult.GetValue(dataDir)!,
            },
            parseResult,
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(MetadataNodeOptions options, ParseResult parseResult, CancellationToken cancellationToken)
    {
        using var loggerFactory = ConsoleLogging.CreateFactory(parseResult);
        var logger = loggerFactory.CreateLogger("Tiered.Cli.Metadata");
        using var shutdown = new Shutdown(cancellationToken);
        using var idleMemory = IdleMemoryRelease.Start(logger);
        var what = $"metadata node {options.NodeId}";

        var (server, exitCode) = await TryStartAsync(options, loggerFactory, logger, shutdown.Token);
        if (server is null)
            return exitCode;

        await using (server)
        {
            Console.WriteLine($"{what} listening on {server.ClientAddress} (raft {options.Peers[options.NodeId - 1]})");
            await shutdown.WaitAsync();
            logger.Stopping(what);
        }
        logger.Stopped(what);
        return Exit.Ok;
    }

    /// <summary>
    /// Validates the options and starts a metadata node. On failure prints "error: ..." and
    /// returns no server with the exit code to use (Ok when a stop request cancelled the start).
    /// </summary>
    public static async Task<(MetadataServer? Server, int ExitCode)> TryStartAsync(
        MetadataNodeOptions options, ILoggerFactory loggerFactory, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            return (null, Exit.Error(Exit.BadOptions, e.Message));
        }
        try
        {
            return (await MetadataServer.StartAsync(options, loggerFactory, cancellationToken), Exit.Ok);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return (null, Exit.Ok);
        }
        catch (Exception e)
        {
            logger.Failed(e, $"Starting metadata node {options.NodeId}");
            return (null, Exit.Error(Exit.Failed, $"metadata node {options.NodeId} could not start: {e.Message}"));
        }
    }

    /// <summary>Splits "a, b,c" into [a, b, c], ignoring empty items.</summary>
    public static IReadOnlyList<string> SplitList(string value)
        => value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
