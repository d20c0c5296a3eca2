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

        var threshold = new Option<string>("--size", "-s")
        {
            HelpName = "BYTES",
            Description = "Bytes of a topic kept on the bookies before older ledgers are offloaded (-1: off, 0: every closed ledger).",
            Required = true,
        };
        var setThreshold = new Command("set-offload-threshold", "Set when the namespace's topics offload closed ledgers to the object store.") { ns, threshold };
        Run(setThreshold, (p, http, ct) => http.SendAsync(HttpMethod.Put, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "offloadThreshold"]),
            Integer(p.GetValue(threshold)!, "--size").ToString(CultureInfo.InvariantCulture), ct));

        var lag = new Option<string>("--lag", "-l")
        {
            HelpName = "MS",
            Description = "Milliseconds the bookies keep a ledger after it is offloaded.",
            Required = true,
        };
        var setLag = new Command("set-offload-deletion-lag", "Set how long offloaded ledgers stay on the bookies.") { ns, lag };
        Run(setLag, (p, http, ct) => http.SendAsync(HttpMethod.Put, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "offloadDeletionLag"]),
            Integer(p.GetValue(lag)!, "--lag").ToString(CultureInfo.InvariantCulture), ct));

        var driver = new Option<string>("--driver") { HelpName = "filesystem|aws-s3", Description = "The object store.", Required = true };
        var directory = new Option<string?>("--directory") { HelpName = "DIR", Description = "filesystem: where the objects go (on the broker's machine)." };
        var bucket = new Option<string?>("--bucket") { HelpName = "BUCKET", Description = "aws-s3: the bucket (it must exist)." };
        var endpoint = new Option<string?>("--endpoint") { HelpName = "URL", Description = "aws-s3: an S3-compatible endpoint (default: AWS)." };
        var region = new Option<string?>("--region") { HelpName = "REGION", Description = "aws-s3: the region." };
        var prefix = new Option<string?>("--prefix") { HelpName = "PREFIX", Description = "aws-s3: a key prefix inside the bucket." };
        var pathStyle = new Option<bool>("--path-style") { Description = "aws-s3: path-style addressing, which most S3-compatible servers need." };
        var setPolicies = new Command("set-offload-policies", "Set the object store the namespace's topics offload to (the broker's --offload-driver applies otherwise).")
        {
            ns, driver, directory, bucket, endpoint, region, prefix, pathStyle,
        };
        Run(setPolicies, (p, http, ct) => http.SendAsync(HttpMethod.Post, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "offloadPolicies"]),
            JsonSerializer.Serialize(new
            {
                managedLedgerOffloadDriver = p.GetValue(driver),
                managedLedgerOffloadDirectory = p.GetValue(directory),
                managedLedgerOffloadBucket = p.GetValue(bucket),
                managedLedgerOffloadServiceEndpoint = p.GetValue(endpoint),
                managedLedgerOffloadRegion = p.GetValue(region),
                managedLedgerOffloadPrefix = p.GetValue(prefix),
                managedLedgerOffloadPathStyleAccess = p.GetValue(pathStyle),
            }), ct));

        var bundles = new Command("bundles", "The namespace's bundles: the boundaries of the hash ranges its topics are owned by.") { ns };
        Run(bundles, (p, http, ct) => http.GetAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "bundles"]), ct));

        var bundle = new Option<string?>("--bundle", "-b")
        {
            HelpName = "0xLOWER_0xUPPER",
            Description = "One bundle, as `bundles` lists it (e.g. 0x00000000_0x40000000).",
        };
        var split = new Command("split-bundle", "Cut a bundle in two at the middle of its range; its topics are unloaded and owned again by bundle.") { ns, bundle };
        Run(split, (p, http, ct) => p.GetValue(bundle) is { } range
            ? http.SendAsync(HttpMethod.Put, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), range, "split"]), null, ct)
            : throw new ArgumentException("split-bundle needs --bundle 0xLOWER_0xUPPER (see `tiered admin namespaces bundles`)."));

        var unload = new Command("unload",
            "Unload the namespace's bundles (or one, with --bundle): their owners close the topics and release them, clients look them up again "
            + "and the bundles are placed anew. Nothing is deleted.") { ns, bundle };
        Run(unload, (p, http, ct) => http.SendAsync(HttpMethod.Put, p.GetValue(bundle) is { } range
            ? AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), range, "unload"])
            : AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "unload"]), null, ct));

        var namespaces = new Command("namespaces", "Namespaces and their policies.")
        {
            list, create, delete, policies, setRetention, setTtl, setThreshold, setLag, setPolicies, bundles, split, unload,
        };
        foreach (var command in NamespaceTopicCommands(ns))
            namespaces.Subcommands.Add(command);
        foreach (var command in NamespaceDeduplicationCommands(ns))
            namespaces.Subcommands.Add(command);
        foreach (var command in NamespaceReplicationCommands(ns))
            namespaces.Subcommands.Add(command);
        foreach (var command in NamespacePermissionCommands(ns))
            namespaces.Subcommands.Add(command);
        foreach (var command in NamespaceBacklogQuotaCommands(ns))
            namespaces.Subcommands.Add(command);
        return namespaces;
    }

    /// <summary>An integer option's value; -1 and other negatives are left for the server to judge.</summary>
    private static long Integer(string text, string option)
        => long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"{option} '{text}' is not an integer.");
}
