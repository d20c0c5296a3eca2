using System.CommandLine;
using System.Text.Json;

namespace Tiered.Cli;

/// <summary>
/// Geo-replication configuration: <c>tiered admin clusters create|update|delete</c>, <c>tiered admin namespaces
/// set-clusters|get-clusters</c> and <c>tiered admin topics set-|get-|remove-replication-clusters</c> (pulsar-admin's names and flags).
/// </summary>
internal static partial class AdminCommand
{
    private static IEnumerable<Command> ClusterWriteCommands(Argument<string> cluster)
    {
        Option<string?> Url() => new("--url")
        {
            HelpName = "URL",
            Description = "The cluster's admin API (serviceUrl): an http:// or https:// URL, such as http://east-broker:8080.",
        };
        Option<string?> BrokerUrl() => new("--broker-url")
        {
            HelpName = "URL",
            Description = "The cluster's gRPC endpoint for clients and replicators (brokerServiceUrl): an http:// or https:// URL, or host:port.",
        };

        var url = Url();
        var brokerUrl = BrokerUrl();
        var create = new Command("create",
            "Register a cluster in this cluster's metadata (every cluster registers the others it replicates with, and itself). "
            + "Refused when it exists.") { cluster, url, brokerUrl };
        Run(create, (p, http, ct) => http.SendAsync(HttpMethod.Put, AdminHttp.Path("clusters", p.GetValue(cluster)!), ClusterJson(p, url, brokerUrl), ct));

        var updateUrl = Url();
        var updateBrokerUrl = BrokerUrl();
        var update = new Command("update", "Change a registered cluster's URLs; a URL not given keeps its value.") { cluster, updateUrl, updateBrokerUrl };
        Run(update, async (p, http, ct) =>
        {
            var path = AdminHttp.Path("clusters", p.GetValue(cluster)!);
            var given = ClusterJson(p, updateUrl, updateBrokerUrl);
            var (exit, current) = await http.GetJsonAsync(path, ct);
            if (exit != Exit.Ok)
                return exit;
            // The server replaces the whole record (as Pulsar's does): carry over what was not given.
            var merged = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var field in current.EnumerateObject())
            {
                if (field.Value.ValueKind == JsonValueKind.String)
                    merged[field.Name] = field.Value.GetString()!;
            }
            foreach (var (key, value) in JsonSerializer.Deserialize<Dictionary<string, string>>(given)!)
                merged[key] = value;
            return await http.SendAsync(HttpMethod.Post, path, JsonSerializer.Serialize(merged), ct);
        });

        var delete = new Command("delete",
            "Remove a registered cluster; refused while a namespace or topic replicates to it, or a tenant allows it.") { cluster };
        Run(delete, (p, http, ct) => http.SendAsync(HttpMethod.Delete, AdminHttp.Path("clusters", p.GetValue(cluster)!), null, ct));

        return [create, update, delete];
    }

    private static string ClusterJson(ParseResult p, Option<string?> url, Option<string?> brokerUrl)
    {
        var serviceUrl = p.GetValue(url);
        var brokerServiceUrl = p.GetValue(brokerUrl);
        if (serviceUrl is null && brokerServiceUrl is null)
            throw new ArgumentException("Give --url, --broker-url or both.");
        var body = new Dictionary<string, string>(StringComparer.Ordinal);
        if (serviceUrl is not null)
            body["serviceUrl"] = serviceUrl;
        if (brokerServiceUrl is not null)
            body["brokerServiceUrl"] = brokerServiceUrl;
        return JsonSerializer.Serialize(body);
    }

    private static Option<string> ClustersOption(string description) => new("--clusters", "-c")
    {
        HelpName = "CLUSTER,...",
        Description = description,
        Required = true,
    };

    private static IEnumerable<Command> NamespaceReplicationCommands(Argument<string> ns)
    {
        var clusters = ClustersOption("Clusters the namespace lives in, this one included; each registered and allowed for the tenant.");
        var set = new Command("set-clusters",
            "Set the clusters the namespace's topics are replicated to (geo-replication). Leaving a cluster out stops replicating to it; "
            + "adding one starts replicating to it.") { ns, clusters };
        Run(set, (p, http, ct) => http.SendAsync(HttpMethod.Post, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "replication"]),
            ClusterListJson(p.GetValue(clusters)), ct));

        var get = new Command("get-clusters", "The clusters the namespace's topics are replicated to.") { ns };
        Run(get, (p, http, ct) => http.GetAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "replication"]), ct));

        return [set, get];
    }

    private static IEnumerable<Command> TopicReplicationCommands(Argument<string> topic)
    {
        var clusters = ClustersOption("Clusters the topic lives in, this one included; each registered and allowed for the tenant.");
        var set = new Command("set-replication-clusters",
            "Set the clusters one topic is replicated to, over its namespace's list; a partitioned topic's applies to all its partitions. "
            + "The topic must exist.") { topic, clusters };
        Run(set, (p, http, ct) => http.SendAsync(HttpMethod.Post, TopicPath(p.GetValue(topic)!, "replication"), ClusterListJson(p.GetValue(clusters)), ct));

        var applied = new Option<bool>("--applied", "-a") { Description = "Show the list that applies: the topic's own, else its namespace's." };
        var get = new Command("get-replication-clusters",
            "The topic's own replication clusters, or null when it sets none (its namespace's apply; see --applied).") { topic, applied };
        Run(get, (p, http, ct) => http.GetPolicyAsync(TopicPath(p.GetValue(topic)!, "replication") + (p.GetValue(applied) ? "?applied=true" : ""),
            $"not set on {p.GetValue(topic)}: its namespace's replication clusters apply (see --applied)", ct));

        var remove = new Command("remove-replication-clusters", "Unset the topic's own replication clusters: its namespace's apply again.") { topic };
        Run(remove, (p, http, ct) => http.SendAsync(HttpMethod.Delete, TopicPath(p.GetValue(topic)!, "replication"), null, ct));

        return [set, get, remove];
    }

    /// <summary>--clusters a,b as the JSON array the server judges; an empty list is refused here already.</summary>
    private static string ClusterListJson(string? list)
    {
        var clusters = SplitList(list);
        return clusters.Count > 0
            ? JsonSerializer.Serialize(clusters)
            : throw new ArgumentException("--clusters needs at least one cluster name (this cluster's own included), e.g. --clusters east,west.");
    }
}
