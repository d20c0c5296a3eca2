using System.CommandLine;
using Tiered.Bookie;
using Tiered.Hosting;
using Tiered.Security.Hosting;

namespace Tiered.Cli;

/// <summary><c>tiered bookie</c>: one storage node.</summary>
internal static class BookieCommand
{
    public static Command Create()
    {
        var flags = new SettingFlags();
        flags.AddList(new Option<string>("--metadata")
        {
            HelpName = "HOST:PORT,...",
            Description = "Client addresses of the metadata service nodes.",
            DefaultValueFactory = _ => "127.0.0.1:2181",
        }, "Bookie:Metadata");
        flags.Add(new Option<string>("--listen")
        {
            HelpName = "HOST:PORT",
            Description = "Address the gRPC endpoint binds: an IP, a host name, or 0.0.0.0 / [::] for every interface.",
            DefaultValueFactory = _ => BookieOptions.DefaultListen,
        }, "Bookie:Listen");
        flags.Add(new Option<string?>("--advertised-address")
        {
            HelpName = "HOST:PORT",
            Description = "Where writers and readers reach this bookie (a host name or IP), published in its registration. "
                + "Default: --listen; when --listen is 0.0.0.0 or [::], this machine's host name with the listen port.",
        }, "Bookie:AdvertisedAddress");
        flags.Add(new Option<string?>("--id")
        {
            HelpName = "ID",
            Description = "The bookie's identity in ledger ensembles and in its registration. It must stay the same as long as "
                + "the bookie's data does; the COOKIE in the data directory checks it. Default: the advertised address.",
        }, "Bookie:Id");
        flags.Add(new Option<string>("--http-listen")
        {
            HelpName = "HOST:PORT",
            Description = "HOST:PORT of the HTTP endpoint for /health/live, /health/ready and /metrics.",
            DefaultValueFactory = _ => "127.0.0.1:8000",
        }, "Bookie:HttpListen");
        flags.Add(new Option<string>("--data-dir")
        {
            HelpName = "DIR",
            Description = "Directory of the entry logs and the index; created if missing.",
            DefaultValueFactory = _ => "./data/bookie",
        }, "Bookie:DataDir");
        flags.Add(new Option<string?>("--journal-dir")
        {
            HelpName = "DIR",
            Description = "Directory of the journal (default DATA_DIR/journal). Every add is fsynced here before it is acknowledged; a disk of its own is best.",
        }, "Bookie:JournalDir");
        flags.Add(new Option<bool>("--no-auto-recovery")
        {
            Description = "Do not take part in auto-recovery (re-replicating the ledgers of bookies that are gone). By default every bookie runs it and one is active at a time.",
        }, "Bookie:AutoRecovery", off => off ? "false" : null);
        flags.Add(JournalPreallocationOption(), "Bookie:JournalPreallocationBytes", SettingFlags.Mebibytes);
        flags.AddTls();
        flags.AddTlsTrust();
        var command = new Command(
            "bookie",
            "Run a bookie: a storage node that keeps ledger entries durably (journal with group commit, entry logs, "
            + "RocksDB index) and registers itself in the metadata service. Runs until SIGINT or SIGTERM.");
        SecurityFlags.AddTo(flags, componentToken: true, replicationToken: false);
        flags.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            BookieOptions? options = null;
            var scheme = "http";
            return ServerRun.RunAsync(parseResult, flags, "bookie",
                (configuration, builder) =>
                {
                    scheme = TieredListeners.Of(builder).Scheme;
                    options = TieredSettings.Bind(configuration, BookieHosting.Section, new BookieOptions(), o => o.Validate());
                    builder.AddTieredBookie(options);
                    SecurityFlags.Apply(builder, configuration, "the bookie");
                },
                _ => $"bookie {options!.BookieId} listening on {scheme}://{options.Listen} (data {Path.GetFullPath(options.DataDir)}, journal {Path.GetFullPath(options.JournalDirectory)}, {scheme}://{options.HttpListen})",
                cancellationToken);
        });
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
}
