using System.CommandLine;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered admin namespaces|topics set-deduplication|get-deduplication|remove-deduplication</c>: producer
/// de-duplication per namespace and per topic (pulsar-admin's subcommands and flags).
/// </summary>
internal static partial class AdminCommand
{
    /// <summary>What applies where nothing is set; the broker's flag is on unless it was turned off.</summary>
    private const string DeduplicationDefault = "the broker's --deduplication-enabled (on unless the broker was started with false)";

    private static IEnumerable<Command> NamespaceDeduplicationCommands(Argument<string> ns)
    {
        var (enable, disable) = EnableDisableOptions();
        var set = new Command("set-deduplication",
            "Turn producer de-duplication on (--enable) or off (--disable) for the namespace's topics (a topic's own setting overrides it). "
            + "With it on, a batch a producer sends again after a lost receipt is stored once.") { ns, enable, disable };
        Run(set, (p, http, ct) => http.SendAsync(HttpMethod.Post, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "deduplication"]),
            EnabledJson(p, enable, disable), ct));

        var get = new Command("get-deduplication", $"The namespace's producer de-duplication setting: true, false, or null when unset ({DeduplicationDefault} applies).") { ns };
        Run(get, (p, http, ct) => http.GetPolicyAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "deduplication"]),
            $"not set: {DeduplicationDefault} applies to {p.GetValue(ns)}", ct));

        var remove = new Command("remove-deduplication", $"Unset the namespace's producer de-duplication: {DeduplicationDefault} applies again.") { ns };
        Run(remove, (p, http, ct) => http.SendAsync(HttpMethod.Delete, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "deduplication"]), null, ct));

        return [set, get, remove];
    }

    private static IEnumerable<Command> TopicDeduplicationCommands(Argument<string> topic)
    {
        var (enable, disable) = EnableDisableOptions();
        var set = new Command("set-deduplication",
            "Turn producer de-duplication on (--enable) or off (--disable) for one topic, over its namespace's setting; a partitioned topic's "
            + "applies to all its partitions. The topic must exist.") { topic, enable, disable };
        Run(set, (p, http, ct) => http.SendAsync(HttpMethod.Post, TopicPath(p.GetValue(topic)!, "deduplicationEnabled"), EnabledJson(p, enable, disable), ct));

        var applied = new Option<bool>("--applied", "-a") { Description = "Show what applies: the topic's setting, else its namespace's, else the broker's." };
        var get = new Command("get-deduplication",
            "The topic's own producer de-duplication setting: true, false, or null when unset (its namespace's applies; see --applied).") { topic, applied };
        Run(get, (p, http, ct) => http.GetPolicyAsync(TopicPath(p.GetValue(topic)!, "deduplicationEnabled") + (p.GetValue(applied) ? "?applied=true" : ""),
            $"not set on {p.GetValue(topic)}: its namespace's setting applies, else {DeduplicationDefault} (see --applied)", ct));

        var remove = new Command("remove-deduplication", "Unset the topic's producer de-duplication: its namespace's setting applies again, else the broker's.") { topic };
        Run(remove, (p, http, ct) => http.SendAsync(HttpMethod.Delete, TopicPath(p.GetValue(topic)!, "deduplicationEnabled"), null, ct));

        return [set, get, remove];
    }

    private static (Option<bool> Enable, Option<bool> Disable) EnableDisableOptions()
        => (new Option<bool>("--enable", "-e") { Description = "Turn de-duplication on." },
            new Option<bool>("--disable", "-d") { Description = "Turn de-duplication off." });

    /// <summary>The body of set-deduplication: true or false, from exactly one of --enable and --disable.</summary>
    private static string EnabledJson(ParseResult p, Option<bool> enable, Option<bool> disable) => (p.GetValue(enable), p.GetValue(disable)) switch
    {
        (true, false) => "true",
        (false, true) => "false",
        _ => throw new ArgumentException("Give exactly one of --enable and --disable."),
    };
}
