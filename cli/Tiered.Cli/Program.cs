using System.CommandLine;
using Tiered.Cli;
using Tiered.Cli.Messaging;

var root = new RootCommand(
    "Tiered, a Pulsar-class messaging system: one executable for every role. "
    + "Available so far: 'standalone' (everything in one process, for one machine), "
    + "'metadata' (one node of the Raft-replicated metadata service) and 'bookie' (one storage node); "
    + "'produce', 'consume' and 'perf' are clients of a running broker.")
{
    ConsoleLogging.LevelOption,
    StandaloneCommand.Create(),
    MetadataCommand.Create(),
    BookieCommand.Create(),
    ProduceCommand.Create(),
    ConsumeCommand.Create(),
    PerfCommand.Create(),
};

var parseResult = root.Parse(args);
var exitCode = await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = Shutdown.GracePeriod });
return parseResult.Errors.Count > 0 ? Exit.BadOptions : exitCode;
