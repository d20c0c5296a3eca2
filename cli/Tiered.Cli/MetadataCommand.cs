using System.CommandLine;
using Tiered.Metadata;
using Tiered.Security.Hosting;

namespace Tiered.Cli;

/// <summary><c>tiered metadata</c>: one node of the Raft-replicated metadata service.</summary>
internal static class MetadataCommand
{
    public static Command Create()
    {
        var flags = new SettingFlags();
        var nodeId = flags.Add(new Option<int>("--node-id")
        {
            HelpName = "N",
            Description = "This node's 1-based position in --peers.",
            DefaultValueFactory = _ => 1,
        }, "Metadata:NodeId");
        flags.Add(new Option<string>("--listen")
        {
            HelpName = "HOST:PORT",
            Description = "HOST:PORT of the gRPC endpoint that clients and other Tiered processes connect to.",
            DefaultValueFactory = _ => MetadataNodeOptions.DefaultListen,
        }, "Metadata:Listen");
        flags.AddList(new Option<string>("--peers")
        {
            HelpName = "HOST:PORT,...",
            Description = "Comma-separated Raft HOST:PORT of every voting node (1, 3, 5 or 7 of them), this one included, "
                + "in the same order on every node.",
            DefaultValueFactory = _ => MetadataNodeOptions.DefaultPeer,
        }, "Metadata:Peers");
        flags.Add(new Option<string>("--http-listen")
        {
            HelpName = "HOST:PORT",
            Description = "HOST:PORT of the HTTP endpoint for /health/live, /health/ready and /metrics.",
            DefaultValueFactory = _ => "127.0.0.1:8001",
        }, "Metadata:HttpListen");
        flags.Add(new Option<string>("--data-dir")
        {
            HelpName = "DIR",
            Description = "Directory of this node's Raft log and snapshots; created if missing.",
            DefaultValueFactory = _ => "./data/metadata",
        }, "Metadata:DataDir");

        flags.AddTls();
        var command = new Command(
            "metadata",
            "Run one node of the metadata service: a versioned key-value store replicated with Raft. "
            + "Start 1 node, or 3 or 5 nodes that list each other in --peers. Runs until SIGINT or SIGTERM.");
        SecurityFlags.AddTo(flags, componentToken: false, replicationToken: false);
        flags.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            MetadataNodeOptions? options = null;
            var scheme = "http";
            return ServerRun.RunAsync(parseResult, flags, $"metadata node {parseResult.GetValue(nodeId)}",
                (configuration, builder) =>
                {
                    scheme = Tiered.Hosting.TieredListeners.Of(builder).Scheme;
                    options = Tiered.Hosting.TieredSettings.Bind(configuration, MetadataHosting.Section, new MetadataNodeOptions(), o => o.Validate());
                    builder.AddTieredMetadataNode(options);
                    SecurityFlags.Apply(builder, configuration, "the metadata node");
                },
                _ => $"metadata node {options!.NodeId} listening on {scheme}://{options.Listen} (raft {options.Peers[options.NodeId - 1]}, {scheme}://{options.HttpListen})",
                cancellationToken);
        });
        return command;
    }
}
