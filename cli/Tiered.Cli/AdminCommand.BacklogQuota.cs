using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered admin namespaces set-backlog-quota|get-backlog-quotas|remove-backlog-quota</c>: a namespace's backlog quotas
/// (pulsar-admin's subcommands; its --limitSize, --limitTime, --policy and --type become --limit-size, --limit-time, --policy, --type).
/// </summary>
internal static partial class AdminCommand
{
    private const string QuotaTypes = "destination_storage|message_age";

    private static IEnumerable<Command> NamespaceBacklogQuotaCommands(Argument<string> ns)
    {
        var type = new Option<string>("--type", "-t")
        {
            HelpName = QuotaTypes,
            Description = "destination_storage limits the backlog's bytes (--limit-size); message_age the age of its oldest message (--limit-time).",
            DefaultValueFactory = _ => "destination_storage",
        };
        var limitSize = new Option<string?>("--limit-size", "-l")
        {
            HelpName = "BYTES",
            Description = "destination_storage: bytes the slowest subscription may leave unacknowledged, e.g. 1048576, 512K, 10M, 2G.",
        };
        var limitTime = new Option<string?>("--limit-time")
        {
            HelpName = "SECONDS",
            Description = "message_age: how old the oldest unacknowledged message may get, e.g. 3600, 90s, 30m, 12h, 7d.",
        };
        var policy = new Option<string>("--policy", "-p")
        {
            HelpName = "producer_request_hold|producer_exception|consumer_backlog_eviction",
            Description = "Once over the quota: hold producers' sends until the backlog shrinks, refuse them with BACKLOG_QUOTA_EXCEEDED, "
                + "or move the slowest subscriptions forward (acknowledging their oldest messages).",
            Required = true,
        };
        var set = new Command("set-backlog-quota",
            "Set one of the namespace's backlog quotas (per topic: what its slowest durable subscription has not acknowledged). "
            + "Examples: set-backlog-quota T/NS --limit-size 10M --policy producer_request_hold; "
            + "set-backlog-quota T/NS --type message_age --limit-time 1h --policy consumer_backlog_eviction.")
        {
            ns, type, limitSize, limitTime, policy,
        };
        Run(set, (p, http, ct) =>
        {
            var quotaType = p.GetValue(type)!;
            var storage = quotaType == "destination_storage";
            var (given, givenName, other, otherName) = storage
                ? (p.GetValue(limitSize), "--limit-size", p.GetValue(limitTime), "--limit-time")
                : (p.GetValue(limitTime), "--limit-time", p.GetValue(limitSize), "--limit-size");
            if (quotaType is not ("destination_storage" or "message_age"))
                throw new ArgumentException($"--type '{quotaType}' is neither destination_storage nor message_age.");
            if (given is null)
                throw new ArgumentException($"--type {quotaType} needs {givenName}.");
            if (other is not null)
                throw new ArgumentException($"{otherName} does not apply to --type {quotaType}; set it with its own type.");
            var body = storage
                ? JsonSerializer.Serialize(new { limitSize = Bytes(given, "--limit-size"), limitTime = -1, policy = p.GetValue(policy) })
                : JsonSerializer.Serialize(new { limitSize = -1, limitTime = Seconds(given, "--limit-time"), policy = p.GetValue(policy) });
            return http.SendAsync(HttpMethod.Post, BacklogQuotaPath(p.GetValue(ns)!, quotaType), body, ct);
        });

        var get = new Command("get-backlog-quotas", "The namespace's backlog quotas by type ({} when none is set).") { ns };
        Run(get, (p, http, ct) => http.GetAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "backlogQuotaMap"]), ct));

        var removeType = new Option<string>("--type", "-t")
        {
            HelpName = QuotaTypes,
            Description = "The quota to remove.",
            DefaultValueFactory = _ => "destination_storage",
        };
        var remove = new Command("remove-backlog-quota", "Remove one of the namespace's backlog quotas; held producers resume at the broker's next check.") { ns, removeType };
        Run(remove, (p, http, ct) => http.SendAsync(HttpMethod.Delete, BacklogQuotaPath(p.GetValue(ns)!, p.GetValue(removeType)!), null, ct));

        return [set, get, remove];
    }

    private static string BacklogQuotaPath(string ns, string type)
        => AdminHttp.Path(["namespaces", .. NamespaceSegments(ns), "backlogQuota"]) + "?backlogQuotaType=" + Uri.EscapeDataString(type);

    /// <summary>Bytes, with an optional K, M, G or T (powers of 1024); negatives are left for the server to refuse.</summary>
    internal static long Bytes(string text, string option)
    {
        var (digits, factor) = Suffixed(text, c => char.ToUpperInvariant(c) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            'T' => 1L << 40,
            _ => 0,
        });
        return long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && factor > 0
            ? checked(value * factor)
            : throw new ArgumentException($"{option} '{text}' is not a size: give bytes, or a number with K, M, G or T (e.g. 10M).");
    }

    /// <summary>Seconds, with an optional s, m, h, d or w; negatives are left for the server to refuse.</summary>
    internal static long Seconds(string text, string option)
    {
        var (digits, factor) = Suffixed(text, c => char.ToLowerInvariant(c) switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => 0,
        });
        return long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && factor > 0
            ? checked(value * factor)
            : throw new ArgumentException($"{option} '{text}' is not a duration: give seconds, or a number with s, m, h, d or w (e.g. 12h).");
    }

    private static (string Digits, long Factor) Suffixed(string text, Func<char, long> unit)
        => text.Length > 0 && char.IsLetter(text[^1]) ? (text[..^1], unit(text[^1])) : (text, 1);
}
