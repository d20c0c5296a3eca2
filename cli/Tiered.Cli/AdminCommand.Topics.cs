using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Tiered.Cli;

/// <summary><c>tiered admin topics …</c>: persistent topics, partitioned topics and subscriptions.</summary>
internal static partial class AdminCommand
{
    private static Command Topics()
    {
        var ns = NameArgument("namespace", "tenant/namespace.");
        var list = new Command("list", "The namespace's topics (partitions included).") { ns };
        Run(list, (p, http, ct) => http.GetAsync(AdminHttp.Path(["persistent", .. NamespaceSegments(p.GetValue(ns)!)]), ct));

        var topic = NameArgument("topic", "persistent://tenant/namespace/topic, tenant/namespace/topic, or topic (in public/default).");
        var create = new Command("create", "Create a topic without partitions.") { topic };
        Run(create, (p, http, ct) => http.SendAsync(HttpMethod.Put, TopicPath(p.GetValue(topic)!), null, ct));

        var partitions = new Option<int>("--partitions", "-p")
        {
            HelpName = "N",
            Description = "Number of partitions (at least 1).",
            Required = true,
        };
        var createPartitioned = new Command("create-partitioned", "Create a partitioned topic and its partitions.") { topic, partitions };
        Run(createPartitioned, (p, http, ct) => http.SendAsync(HttpMethod.Put, TopicPath(p.GetValue(topic)!, "partitions"),
            p.GetValue(partitions).ToString(CultureInfo.InvariantCulture), ct));

        var force = new Option<bool>("--force", "-f") { Description = "Even while clients are connected (they are disconnected)." };
        var delete = new Command("delete", "Delete a topic, or a partitioned topic with all its partitions, and its data.") { topic, force };
        Run(delete, async (p, http, ct) =>
        {
            var name = p.GetValue(topic)!;
            var query = p.GetValue(force) ? "?force=true" : "";
            var partitioned = await http.PartitionsAsync(TopicPath(name, "partitions"), ct) > 0;
            return await http.SendAsync(HttpMethod.Delete, (partitioned ? TopicPath(name, "partitions") : TopicPath(name)) + query, null, ct);
        });

        var stats = new Command("stats", "Rates, counters, publishers and subscriptions of a topic.") { topic };
        Run(stats, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "stats"), ct));

        var internalStats = new Command("internal-stats", "A topic's managed ledger: ledgers, cursors and positions.") { topic };
        Run(internalStats, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "internalStats"), ct));

        var subscriptions = new Command("subscriptions", "Names of a topic's subscriptions.") { topic };
        Run(subscriptions, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "subscriptions"), ct));

        var upTo = new Option<string?>("--message-id", "-m")
        {
            HelpName = "LEDGER:ENTRY",
            Description = "Offload the closed ledgers up to this message (default: every closed ledger).",
        };
        var wait = new Option<bool>("--wait", "-w") { Description = "Wait until the offload has ended, showing how many ledgers are offloaded; exit 1 if it fails." };
        var offload = new Command("offload", "Start offloading a topic's closed ledgers to its namespace's object store (follow it with offload-status, or --wait).") { topic, upTo, wait };
        Run(offload, async (p, http, ct) =>
        {
            var exit = await http.SendAsync(HttpMethod.Put, TopicPath(p.GetValue(topic)!, "offload"), p.GetValue(upTo) is { } id ? MessageIdJson(id) : null, ct);
            return exit != Exit.Ok || !p.GetValue(wait) ? exit : await WaitForOffloadAsync(http, p.GetValue(topic)!, ct);
        });

        var offloadStatus = new Command("offload-status", "A topic's last offload: NOT_RUN, RUNNING, SUCCESS or ERROR, and the first message not offloaded.") { topic };
        Run(offloadStatus, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "offload"), ct));

        var topics = new Command("topics", "Persistent topics, partitioned topics and their subscriptions.")
        {
            list, create, createPartitioned, delete, stats, internalStats, subscriptions, offload, offloadStatus,
        };
        foreach (var command in SubscriptionCommands(topic, force))
            topics.Subcommands.Add(command);
        foreach (var command in MessageCommands(topic))
            topics.Subcommands.Add(command);
        foreach (var command in TopicLifecycleCommands(topic))
            topics.Subcommands.Add(command);
        foreach (var command in TopicDeduplicationCommands(topic))
            topics.Subcommands.Add(command);
        foreach (var command in TopicReplicationCommands(topic))
            topics.Subcommands.Add(command);
        foreach (var command in TopicPermissionCommands(topic))
            topics.Subcommands.Add(command);
        return topics;
    }

    private static IEnumerable<Command> SubscriptionCommands(Argument<string> topic, Option<bool> force)
    {
        var subscription = new Option<string>("--subscription", "-s")
        {
            HelpName = "NAME",
            Description = "Subscription name.",
            Required = true,
        };
        var messageId = new Option<string?>("--message-id", "-m")
        {
            HelpName = "LEDGER:ENTRY",
            Description = "A message id, e.g. 12:0 (create-subscription: where it starts; default after the last message).",
        };
        var createSubscription = new Command("create-subscription", "Create a durable subscription.") { topic, subscription, messageId };
        Run(createSubscription, (p, http, ct) => http.SendAsync(HttpMethod.Put, SubscriptionPath(p, topic, subscription),
            p.GetValue(messageId) is { } id ? MessageIdJson(id) : null, ct));

        var deleteSubscription = new Command("delete-subscription", "Delete a subscription and its cursor.") { topic, subscription, force };
        Run(deleteSubscription, (p, http, ct) => http.SendAsync(HttpMethod.Delete,
            SubscriptionPath(p, topic, subscription) + (p.GetValue(force) ? "?force=true" : ""), null, ct));

        var time = new Option<string?>("--time", "-t")
        {
            HelpName = "MS",
            Description = "Move to the first message published at or after this time, in milliseconds since the epoch.",
        };
        var resetCursor = new Command("reset-cursor", "Move a subscription to a time (--time) or a message id (--message-id).") { topic, subscription, time, messageId };
        Run(resetCursor, (p, http, ct) => (p.GetValue(time), p.GetValue(messageId)) switch
        {
            ({ } ms, null) => http.SendAsync(HttpMethod.Post, SubscriptionPath(p, topic, subscription, "resetcursor", Integer(ms, "--time").ToString(CultureInfo.InvariantCulture)), null, ct),
            (null, { } id) => http.SendAsync(HttpMethod.Post, SubscriptionPath(p, topic, subscription, "resetcursor"), MessageIdJson(id), ct),
            _ => throw new ArgumentException("Give exactly one of --time and --message-id."),
        });

        var count = new Option<long?>("--count", "-n")
        {
            HelpName = "N",
            Description = "Number of messages to skip.",
        };
        var all = new Option<bool>("--all") { Description = "Skip every message (clear the backlog)." };
        var skip = new Command("skip", "Acknowledge the next N messages (--count) or all of them (--all).") { topic, subscription, count, all };
        Run(skip, (p, http, ct) => (p.GetValue(count), p.GetValue(all)) switch
        {
            ({ } n, false) => http.SendAsync(HttpMethod.Post, SubscriptionPath(p, topic, subscription, "skip", n.ToString(CultureInfo.InvariantCulture)), null, ct),
            (null, true) => http.SendAsync(HttpMethod.Post, SubscriptionPath(p, topic, subscription, "skip_all"), null, ct),
            _ => throw new ArgumentException("Give exactly one of --count and --all."),
        });

        return [createSubscription, deleteSubscription, resetCursor, skip];
    }

    /// <summary>Polls the offload status until it is SUCCESS or ERROR, printing the ledgers offloaded so far on stderr.</summary>
    private static async Task<int> WaitForOffloadAsync(AdminHttp http, string topic, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var shown = -1;
        while (true)
        {
            var (exit, status) = await http.GetJsonAsync(TopicPath(topic, "offload"), cancellationToken);
            if (exit != Exit.Ok)
                return exit;
            var state = status.GetProperty("status").GetString();
            var (statsExit, stats) = await http.GetJsonAsync(TopicPath(topic, "internalStats"), cancellationToken);
            if (statsExit != Exit.Ok)
                return statsExit;
            var ledgers = stats.GetProperty("ledgers").EnumerateArray().ToList();
            var offloaded = ledgers.Count(l => l.GetProperty("offloaded").GetBoolean());
            if (offloaded != shown || state is not "RUNNING")
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{state}: {offloaded} of {ledgers.Count - 1} closed ledgers offloaded ({started.Elapsed.TotalSeconds:F0} s)"));
                shown = offloaded;
            }
            switch (state)
            {
                case "SUCCESS":
                    AdminHttp.Print(status);
                    return Exit.Ok;
                case "ERROR":
                    return Exit.Error(Exit.Failed, $"the offload of {topic} failed: {status.GetProperty("lastError").GetString()}");
            }
            // Poll interval of a progress display, not synchronization: the loop ends on the status.
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static string TopicPath(string topic, params string[] rest) => AdminHttp.Path(["persistent", .. TopicSegments(topic), .. rest]);

    private static string SubscriptionPath(ParseResult p, Argument<string> topic, Option<string> subscription, params string[] rest)
        => TopicPath(p.GetValue(topic)!, ["subscription", p.GetValue(subscription)!, .. rest]);

    /// <summary>"LEDGER:ENTRY" or "LEDGER:ENTRY:PARTITION" as the API's MessageIdData JSON.</summary>
    private static string MessageIdJson(string id)
    {
        var parts = id.Split(':');
        if (parts.Length is < 2 or > 3 || !parts.All(part => long.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)))
            throw new ArgumentException($"Invalid message id '{id}': expected LEDGER:ENTRY or LEDGER:ENTRY:PARTITION, e.g. 12:0.");
        return JsonSerializer.Serialize(new
        {
            ledgerId = long.Parse(parts[0], CultureInfo.InvariantCulture),
            entryId = long.Parse(parts[1], CultureInfo.InvariantCulture),
            partitionIndex = parts.Length == 3 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : -1,
        });
    }
}
