using System.CommandLine;
using Tiered.Cli;

var root = new RootCommand(
    "Tiered, a Pulsar-class messaging system: one executable for every role. "
    + "Available so far: 'standalone' (everything in one process, for one machine), "
    + "'metadata' (one node of the Raft-replicated metadata service) and 'bookie' (one storage node).")
{
    ConsoleLogging.LevelOption,
    StandaloneCommand.Create(),
    MetadataCommand.Create(),
    BookieCommand.Create(),
    AdminCommand.Create(),
};

var parseResult = root.Parse(args);
var exitCode = await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = Shutdown.GracePeriod });
return parseResult.Errors.Count > 0 ? Exit.BadOptions : exitCode;
