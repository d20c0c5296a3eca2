using System.CommandLine;
using System.Globalization;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered admin topics update-partitioned|terminate|expire-messages…</c>, <c>namespaces topics|clear-backlog</c>,
/// <c>brokers list</c> and <c>bookies list|racks-info</c>.
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
        return new Command("bookies", "The cluster's bookies, as they registered in the metadata service.") { list, racks };
    }

    private static string Seconds(int seconds) => seconds >= 0
        ? seconds.ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentException($"--expire-time {seconds}: expected 0 or more seconds.");
}
