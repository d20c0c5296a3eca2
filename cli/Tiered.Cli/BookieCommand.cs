using System.CommandLine;
using Microsoft.Extensions.Logging;
using Tiered.Bookie;

namespace Tiered.Cli;

/// <summary><c>tiered bookie</c>: one storage node.</summary>
internal static class BookieCommand
{
    public static Command Create()
    {
        var metadata = new Option<string>("--metadata")
        {
            HelpName = "HOST:PORT,...",
            Description = "Client addresses of the metadata service nodes.",
            DefaultValueFactory = _ => "127.0.0.1:2181",
        };
        var listen = new Option<string>("--listen")
        {
            HelpName = "HOST:PORT",
            Description = "gRPC address writers and readers connect to; it is also this bookie's id in ledger ensembles, so keep it stable.",
            DefaultValueFactory = _ => BookieOptions.DefaultListen,
        };
        var dataDir = new Option<string>("--data-dir")
        {
            HelpName = "DIR",
            Description = "Directory of the entry logs and the index; created if missing.",
            DefaultValueFactory = _ => "./data/bookie",
        };
        var journalDir = new Option<string?>("--journal-dir")
        {
            HelpName = "DIR",
            Description = "Directory of the journal (default DATA_DIR/journal). Every add is fsynced here before it is acknowledged; a disk of its own is best.",
        };
        var noAutoRecovery = new Option<bool>("--no-auto-recovery")
        {
            Description = "Do not take part in auto-recovery (re-replicating the ledgers of bookies that are gone). By default every bookie runs it and one is active at a time.",
        };
        var journalPreallocation = JournalPreallocationOption();
        var command = new Command(
            "bookie",
            "Run a bookie: a storage node that keeps ledger entries durably (journal with group commit, entry logs, "
            + "RocksDB index) and registers itself in the metadata service. Runs until SIGINT or SIGTERM.")
        {
            metadata, listen, dataDir, journalDir, noAutoRecovery, journalPreallocation,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new BookieOptions
            {
                Metadata = MetadataCommand.SplitList(parseResult.GetValue(metadata)!),
                Listen = parseResult.GetValue(listen)!,
                DataDir = parseResult.GetValue(dataDir)!,
                JournalDir = parseResult.GetValue(journalDir),
                AutoRecovery = !parseResult.GetValue(noAutoRecovery),
                JournalPreallocationBytes = Mebibytes(parseResult.GetValue(journalPreallocation)),
            },
            parseResult,
            cancellationToken));
        return command;
    }

    /// <summary><c>--journal-preallocation-mb</c>, shared by <c>tiered bookie</c> and <c>tiered standalone</c>.</summary>
    internal static Option<int> JournalPreallocationOption() => new("--journal-preallocation-mb")
    {
        HelpName = "MIB",
        Description = "Disk space reserved for each new journal file so appends need not allocate it (0 to "
            + $"{BookieOptions.MaxJournalPreallocationBytes / (1024 * 1024)}). The journal's disk needs this much free space to start; lower it on a small disk.",
        DefaultValueFactory = _ => (int)(BookieOptions.MaxJournalPreallocationBytes / (1024 * 1024)),
    };

    internal static long Mebibytes(int mebibytes) => mebibytes * 1024L * 1024;

    private static async Task<int> RunAsync(BookieOptions options, ParseResult parseResult, CancellationToken cancellationToken)
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
        var logger = loggerFactory.CreateLogger("Tiered.Cli.Bookie");
        using var shutdown = new Shutdown(cancellationToken);
        using var idleMemory = IdleMemoryRelease.Start(logger);
        var what = $"bookie {options.BookieId}";
        BookieServer server;
        try
        {
            server = await BookieServer.StartAsync(options, loggerFactory, cancellationToken: shutdown.Token);
        }
        catch (OperationCanceledException) when (shutdown.Token.IsCancellationRequested)
        {
            return Exit.Ok;
        }
        catch (Exception e)
        {
            logger.Failed(e, what);
            return Exit.Error(Exit.Failed, $"{what} could not start: {e.Message}");
        }
        await using (server)
        {
            Console.WriteLine($"bookie {options.BookieId} listening on http://{options.Listen} (data {Path.GetFullPath(options.DataDir)}, journal {Path.GetFullPath(options.JournalDirectory)})");
            await shutdown.WaitAsync();
            logger.Stopping(what);
        }
        logger.Stopped(what);
        return Exit.Ok;
    }
}
