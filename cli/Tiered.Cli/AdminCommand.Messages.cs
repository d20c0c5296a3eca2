using System.CommandLine;
using System.Globalization;

namespace Tiered.Cli;

/// <summary><c>tiered admin topics peek|examine|get-message|last-message-id|partitioned-stats|partitioned-internal-stats</c>.</summary>
internal static partial class AdminCommand
{
    private static IEnumerable<Command> MessageCommands(Argument<string> topic)
    {
        var subscription = new Option<string>("--subscription", "-s")
        {
            HelpName = "NAME",
            Description = "Subscription name.",
            Required = true,
        };
        var count = new Option<long>("--count", "-n")
        {
            HelpName = "N",
            Description = "How many messages (default 1); fewer are shown when the backlog ends first.",
            DefaultValueFactory = _ => 1,
        };
        var peek = new Command("peek", "Show the first N messages a subscription has not acknowledged (without acknowledging them); positions count the messages of batches.") { topic, subscription, count };
        Run(peek, (p, http, ct) =>
        {
            var n = Positive(p.GetValue(count), "--count");
            return http.GetMessagesAsync(Enumerable.Range(1, (int)Math.Min(n, int.MaxValue)).Select(i =>
                SubscriptionPath(p, topic, subscription, "position", i.ToString(CultureInfo.InvariantCulture))), ct);
        });

        var initial = new Option<string>("--initial-position", "-i")
        {
            HelpName = "earliest|latest",
            Description = "Count from the first message (earliest) or back from the last (latest, the default).",
            DefaultValueFactory = _ => "latest",
        };
        var position = new Option<long>("--position", "-p")
        {
            HelpName = "N",
            Description = "Which message, from 1 (default 1: the first or the last).",
            DefaultValueFactory = _ => 1,
        };
        var examine = new Command("examine", "Show the Nth message from the first or back from the last; positions count the messages of batches.") { topic, initial, position };
        Run(examine, (p, http, ct) =>
        {
            var n = Positive(p.GetValue(position), "--position");
            var query = string.Create(CultureInfo.InvariantCulture, $"?initialPosition={Uri.EscapeDataString(p.GetValue(initial)!)}&messagePosition={n}");
            return http.GetMessagesAsync([TopicPath(p.GetValue(topic)!, "examinemessage") + query], ct);
        });

        var ledger = new Option<long>("--ledger", "-l") { HelpName = "LEDGER", Description = "Ledger id of the message.", Required = true };
        var entry = new Option<long>("--entry", "-e") { HelpName = "ENTRY", Description = "Entry id of the message.", Required = true };
        var batchIndex = new Option<int>("--batch-index", "-b") { HelpName = "I", Description = "Which message of the entry's batch (default 0)." };
        var getMessage = new Command("get-message", "Show one message by its id (ledger, entry and batch index).") { topic, ledger, entry, batchIndex };
        Run(getMessage, (p, http, ct) => http.GetMessagesAsync([TopicPath(p.GetValue(topic)!, "ledger", p.GetValue(ledger).ToString(CultureInfo.InvariantCulture),
            "entry", p.GetValue(entry).ToString(CultureInfo.InvariantCulture)) + $"?batchIndex={p.GetValue(batchIndex).ToString(CultureInfo.InvariantCulture)}"], ct));

        var lastMessageId = new Command("last-message-id", "The id of the last message stored in a topic (entryId -1 when it is empty).") { topic };
        Run(lastMessageId, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "lastMessageId"), ct));

        var perPartition = new Option<bool>("--per-partition") { Description = "Also list each partition's stats." };
        var partitionedStats = new Command("partitioned-stats", "A partitioned topic's stats summed over its partitions.") { topic, perPartition };
        Run(partitionedStats, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "partitioned-stats") + (p.GetValue(perPartition) ? "?perPartition=true" : "?perPartition=false"), ct));

        var partitionedInternalStats = new Command("partitioned-internal-stats", "Each partition's internal stats (ledgers, cursors).") { topic };
        Run(partitionedInternalStats, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "partitioned-internalStats"), ct));

        return [peek, examine, getMessage, lastMessageId, partitionedStats, partitionedInternalStats];
    }

    private static long Positive(long value, string option)
        => value >= 1 ? value : throw new ArgumentException($"Invalid {option} {value}: expected a number >= 1.");
}
