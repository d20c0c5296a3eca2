using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Tiered.Cli;

/// <summary><c>tiered admin namespaces …</c>.</summary>
internal static partial class AdminCommand
{
    private static Command Namespaces()
    {
        var tenant = NameArgument("tenant", "Tenant name.");
        var list = new Command("list", "The tenant's namespaces.") { tenant };
        Run(list, (p, http, ct) => http.GetAsync(AdminHttp.Path("namespaces", p.GetValue(tenant)!), ct));

        var ns = NameArgument("namespace", "tenant/namespace.");
        var clusters = new Option<string?>("--clusters", "-c")
        {
            HelpName = "CLUSTER,...",
            Description = "Clusters the namespace is replicated to (default: the broker's own cluster).",
        };
        var create = new Command("create", "Create a namespace.") { ns, clusters };
        Run(create, (p, http, ct) =>
        {
            var replication = SplitList(p.GetValue(clusters));
            var body = replication.Count == 0 ? null : JsonSerializer.Serialize(new Dictionary<string, List<string>> { ["replication_clusters"] = replication });
            return http.SendAsync(HttpMethod.Put, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!)]), body, ct);
        });

        var delete = new Command("delete", "Delete a namespace (refused while it has topics).") { ns };
        Run(delete, (p, http, ct) => http.SendAsync(HttpMethod.Delete, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!)]), null, ct));

        var policies = new Command("policies", "The namespace's policies.") { ns };
        Run(policies, (p, http, ct) => http.GetAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!)]), ct));

        var time = new Option<string>("--time", "-t")
        {
            HelpName = "MINUTES",
            Description = "How long acknowledged messages are kept, in minutes (-1: no limit).",
            Required = true,
        };
        var size = new Option<string>("--size", "-s")
        {
            HelpName = "MB",
            Description = "How much acknowledged data is kept, in MB (-1: no limit).",
            Required = true,
        };
        var setRetention = new Command("set-retention", "Set the namespace's retention of acknowledged messages.") { ns, time, size };
        Run(setRetention, (p, http, ct) => http.SendAsync(HttpMethod.Post, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "retention"]),
            JsonSerializer.Serialize(new { retentionTimeInMinutes = Integer(p.GetValue(time)!, "--time"), retentionSizeInMB = Integer(p.GetValue(size)!, "--size") }), ct));

        var ttl = new Option<string>("--ttl")
        {
            HelpName = "SECONDS",
            Description = "Seconds after which unacknowledged messages expire (0: never).",
            Required = true,
        };
        var setTtl = new Command("set-message-ttl", "Set the namespace's message TTL.") { ns, ttl };
        Run(setTtl, (p, http, ct) => http.SendAsync(HttpMethod.Post, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "messageTTL"]),
            Integer(p.GetValue(ttl)!, "--ttl").ToString(CultureInfo.InvariantCulture), ct));

        return new Command("namespaces", "Namespaces and their policies.") { list, create, delete, policies, setRetention, setTtl };
    }

    /// <summary>An integer option's value; -1 and other negatives are left for the server to judge.</summary>
    private static long Integer(string text, string option)
        => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"{option} '{text}' is not an integer.");
}
