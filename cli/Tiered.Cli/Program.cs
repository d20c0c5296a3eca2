using System.CommandLine;
using Tiered.Cli;
using Tiered.Cli.Messaging;

var root = new RootCommand(
    "Tiered, a Pulsar-class messaging system: one executable for every role. "
    + "'standalone' runs everything in one process on one machine; 'metadata' (one node of the Raft-replicated "
    + "metadata service), 'bookie' (one storage node) and 'broker' run the roles of a cluster one by one, 'initialize-cluster' prepares a new cluster's metadata; "
    + "'produce', 'consume' and 'perf' are clients of a broker, 'admin' of its REST API; 'tokens' creates keys and authentication tokens.")
{
    ConsoleLogging.LevelOption,
    StandaloneCommand.Create(),
    MetadataCommand.Create(),
    BookieCommand.Create(),
    BrokerCommand.Create(),
    InitializeClusterCommand.Create(),
    AdminCommand.Create(),
    ProduceCommand.Create(),
    ConsumeCommand.Create(),
    PerfCommand.Create(),
    TokensCommand.Create(),
    OperatorCommand.Create(),
};

var parseResult = root.Parse(args);
var exitCode = await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = Shutdown.GracePeriod });
return parseResult.Errors.Count > 0 ? Exit.BadOptions : exitCode;
