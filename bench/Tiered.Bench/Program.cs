using System.CommandLine;
using Tiered.Bench;
using Tiered.Bench.Compare;
using Tiered.Bench.Offload;

var root = new RootCommand(
    "Benchmarks of a real Tiered deployment on this machine. Each prints a Markdown report on stdout "
    + "(progress on stderr) with the disk's own limits measured in the same run.")
{
    MetadataCommand.Create(),
    BookieCommand.Create(),
    BrokerCommand.Create(),
    ToggleCommand.Create(() => new DedupToggle()),
    ToggleCommand.Create(() => new SecurityToggle()),
    ReplicationCommand.Create(),
    CompareCommand.Create(),
    OffloadCommand.Create(),
    HostingCommand.Create(),
    ClusterCommand.Create(),
    MessagingCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
