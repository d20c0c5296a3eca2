using System.CommandLine;
using System.Globalization;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered admin topics update-partitioned|terminate|expire-messages…</c>, <c>namespaces topics|clear-backlog</c>,
/// <c>brokers list</c> and <c>bookies list|racks-info|under-replicated|decommission|decommission-status</c>.
/// </summary>
internal static partial class AdminCommand
{
    private static IEnumerable<Command> TopicLifecycleCommands(Argument<string> topic)
    {
        var partitions = new Option<int>("--partitions", "-p")
        {
            HelpName = "N",
            Description = "The new number of partitions: at least the current one (partitions may only grow).",
            Required = true,
        };
        var update = new Command("update-partitioned", "Grow a partitioned topic to N partitions.") { topic, partitions };
        Run(update, (p, http, ct) => http.SendAsync(HttpMethod.Post, TopicPath(p.GetValue(topic)!, "partitions"),
            p.GetValue(partitions).ToString(CultureInfo.InvariantCulture), ct));

        var terminate = new Command("terminate",
            "Terminate a topic: producers are refused from now on, consumers read to the end. Prints the last message id; a partitioned topic has all its partitions terminated.") { topic };
        Run(terminate, async (p, http, ct) =>
        {
            var name = p.GetValue(topic)!;
            return await http.PartitionsAsync(TopicPath(name, "partitions"), ct) > 0
                ? await http.SendAsync(HttpMethod.Post, TopicPath(name, "terminate", "partitions"), null, ct)
                : await http.SendAsync(HttpMethod.Post, TopicPath(name, "terminate"), null, ct);
        });

        var subscription = new Option<string>("--subscription", "-s")
        {
            HelpName = "NAME",
            Description = "Subscription name.",
            Required = true,
        };
        var seconds = new Option<int>("--expire-time", "-t")
        {
            HelpName = "SECONDS",
            Description = "Acknowledge the messages published more than this many seconds ago (0: all of them).",
            Required = true,
        };
        var expire = new Command("expire-messages", "Acknowledge a subscription's messages older than --expire-time seconds.") { topic, subscription, seconds };
        Run(expire, (p, http, ct) => http.SendAsync(HttpMethod.Post,
            TopicPath(p.GetValue(topic)!, "subscription", p.GetValue(subscription)!, "expireMessages", Seconds(p.GetValue(seconds))), null, ct));

        var expireAll = new Command("expire-messages-all-subscriptions", "Acknowledge, on every subscription of a topic, the messages older than --expire-time seconds.") { topic, seconds };
        Run(expireAll, (p, http, ct) => http.SendAsync(HttpMethod.Post,
            TopicPath(p.GetValue(topic)!, "all_subscription", "expireMessages", Seconds(p.GetValue(seconds))), null, ct));

        return [update, terminate, expire, expireAll];
    }

    private static IEnumerable<Command> NamespaceTopicCommands(Argument<string> ns)
    {
        var topics = new Command("topics", "The namespace's topics (partitions included).") { ns };
        Run(topics, (p, http, ct) => http.GetAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "topics"]), ct));

        var subscription = new Option<string?>("--subscription", "-s")
        {
            HelpName = "NAME",
            Description = "Only this subscription, on every topic that has it (default: every subscription).",
        };
        var clearBacklog = new Command("clear-backlog", "Acknowledge every message of the namespace's subscriptions.") { ns, subscription };
        Run(clearBacklog, (p, http, ct) => http.SendAsync(HttpMethod.Post, p.GetValue(subscription) is { } sub
            ? AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "clearBacklog", sub])
            : AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "clearBacklog"]), null, ct));

        return [topics, clearBacklog];
    }

    private static Command Brokers()
    {
        var cluster = NameArgument("cluster", "Cluster name (the broker's own, e.g. standalone).");
        var list = new Command("list", "The live brokers of a cluster, as host:port of their admin API.") { cluster };
        Run(list, (p, http, ct) => http.GetAsync(AdminHttp.Path("brokers", p.GetValue(cluster)!), ct));
        var health = new Command("healthcheck", "Whether the broker is ready to serve (prints ok).");
        Run(health, (_, http, ct) => http.GetAsync(AdminHttp.Path("brokers", "health"), ct));
        var broker = NameArgument("broker", "A broker as `list` names it (host:port of its admin API).");
        var owned = new Command("owned-namespaces", "The bundles a broker owns now.") { cluster, broker };
        Run(owned, (p, http, ct) => http.GetAsync(AdminHttp.Path("brokers", p.GetValue(cluster)!, p.GetValue(broker)!, "ownedNamespaces"), ct));
        return new Command("brokers", "The cluster's brokers.") { list, health, owned };
    }

    private static Command Bookies()
    {
        var list = new Command("list", "Every registered (live) bookie with its state: writable or read-only, and the disk space it reports (freeSpace, usedSpace, totalSpace in bytes; reachable false when it does not answer).");
        Run(list, (_, http, ct) => http.GetAsync(AdminHttp.Path("bookies", "all"), ct));
        var racks = new Command("racks-info", "Registered bookies by rack group, with their rack, host and state.");
        Run(racks, (_, http, ct) => http.GetAsync(AdminHttp.Path("bookies", "racks-info"), ct));
        var underReplicated = new Command("under-replicated",
            "Under-replicated ledgers per bookie: for every registered, decommissioning or lost bookie, the ledgers that still need a copy made because of it (0: none).");
        Run(underReplicated, (_, http, ct) => http.GetAsync(AdminHttp.Path("bookies", "under-replicated"), ct));
        return new Command("bookies", "The cluster's bookies, as they registered in the metadata service.")
        {
            list, racks, underReplicated, Decommission(), DecommissionStatus(),
        };
    }

    private static Command Decommission()
    {
        var bookie = NameArgument("bookie", "The bookie's id, as `bookies list` shows it.");
        var wait = new Option<bool>("--wait", "-w")
        {
            Description = "Wait until the decommission is done (no ledger names the bookie any more), printing the progress as it changes; then the bookie may be stopped and its data deleted.",
        };
        var timeout = new Option<int>("--timeout")
        {
            HelpName = "SECONDS",
            Description = "With --wait: give up (exit 1, the decommission goes on) after this many seconds; 0 waits for ever.",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("decommission",
            "Decommission a bookie: it turns read-only for good and auto-recovery copies its ledgers to other bookies (refused when fewer writable bookies than the largest ensemble size would remain). "
            + "Prints the progress; asking again is harmless.") { bookie, wait, timeout };
        Run(command, async (p, http, ct) =>
        {
            var path = AdminHttp.Path("bookies", p.GetValue(bookie)!, "decommission");
            if (!p.GetValue(wait))
                return await http.SendAsync(HttpMethod.Post, path, null, ct);
            var seconds = p.GetValue(timeout);
            if (seconds < 0)
                throw new ArgumentException($"--timeout {seconds}: expected 0 (no limit) or more seconds.");
            var (exit, progress) = await http.SendForJsonAsync(HttpMethod.Post, path, ct);
            if (exit != Exit.Ok)
                return exit;
            var deadline = seconds == 0 ? DateTime.MaxValue : DateTime.UtcNow.AddSeconds(seconds);
            string? shown = null;
            while (true)
            {
                var line = DecommissionLine(progress);
                if (line != shown)
                    Console.Error.WriteLine(shown = line);
                if (progress.TryGetProperty("state", out var state) && state.GetString() == "Done")
                {
                    AdminHttp.Print(progress);
                    return Exit.Ok;
                }
                if (DateTime.UtcNow >= deadline)
                {
                    AdminHttp.Print(progress);
                    return Exit.Error(Exit.Failed, $"the decommission of {p.GetValue(bookie)} is not done after {seconds} s; it goes on (see `tiered admin bookies decommission-status`).");
                }
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                (exit, progress) = await http.GetJsonAsync(path, ct);
                if (exit != Exit.Ok)
                    return exit;
            }
        });
        return command;
    }

    private static Command DecommissionStatus()
    {
        var bookie = NameArgument("bookie", "The bookie's id, as `bookies list` shows it.");
        var command = new Command("decommission-status",
            "The progress of a bookie's decommission: state Draining or Done, readOnly, ledgersRemaining, underReplicatedLedgers.") { bookie };
        Run(command, (p, http, ct) => http.GetAsync(AdminHttp.Path("bookies", p.GetValue(bookie)!, "decommission"), ct));
        return command;
    }

    private static string DecommissionLine(System.Text.Json.JsonElement progress)
    {
        string Field(string name) => progress.TryGetProperty(name, out var value) ? value.ToString() : "?";
        return $"{Field("bookieId")}: {Field("state")}, read-only {Field("readOnly")}, {Field("ledgersRemaining")} ledger(s) remaining, "
            + $"{Field("underReplicatedLedgers")} under-replicated in the cluster";
    }

    private static string Seconds(int seconds) => seconds >= 0
        ? seconds.ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentException($"--expire-time {seconds}: expected 0 or more seconds.");
}
