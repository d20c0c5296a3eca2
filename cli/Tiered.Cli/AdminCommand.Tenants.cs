using System.CommandLine;
using System.Text.Json;

namespace Tiered.Cli;

/// <summary><c>tiered admin clusters …</c> and <c>tiered admin tenants …</c>.</summary>
internal static partial class AdminCommand
{
    private static Command Clusters()
    {
        var list = new Command("list", "Names of the registered clusters.");
        Run(list, (_, http, ct) => http.GetAsync(AdminHttp.Path("clusters"), ct));

        var cluster = NameArgument("cluster", "Cluster name.");
        var get = new Command("get", "A cluster's service URLs.") { cluster };
        Run(get, (p, http, ct) => http.GetAsync(AdminHttp.Path("clusters", p.GetValue(cluster)!), ct));

        var clusters = new Command("clusters", "Clusters registered in this cluster's metadata: this one and those it replicates with.") { list, get };
        foreach (var command in ClusterWriteCommands(cluster))
            clusters.Subcommands.Add(command);
        return clusters;
    }

    private static Command Tenants()
    {
        var list = new Command("list", "Names of the tenants.");
        Run(list, (_, http, ct) => http.GetAsync(AdminHttp.Path("tenants"), ct));

        var tenant = NameArgument("tenant", "Tenant name.");
        var get = new Command("get", "A tenant's admin roles and allowed clusters.") { tenant };
        Run(get, (p, http, ct) => http.GetAsync(AdminHttp.Path("tenants", p.GetValue(tenant)!), ct));

        var allowedClusters = new Option<string>("--allowed-clusters", "-c")
        {
            HelpName = "CLUSTER,...",
            Description = "Clusters the tenant's namespaces may use (they must exist).",
            DefaultValueFactory = _ => "standalone",
        };
        var adminRoles = new Option<string?>("--admin-roles", "-r")
        {
            HelpName = "ROLE,...",
            Description = "Roles that administer the tenant.",
        };
        var create = new Command("create", "Create a tenant.") { tenant, allowedClusters, adminRoles };
        Run(create, (p, http, ct) => http.SendAsync(HttpMethod.Put, AdminHttp.Path("tenants", p.GetValue(tenant)!),
            JsonSerializer.Serialize(new { adminRoles = SplitList(p.GetValue(adminRoles)), allowedClusters = SplitList(p.GetValue(allowedClusters)) }), ct));

        var updateClusters = new Option<string?>("--allowed-clusters", "-c")
        {
            HelpName = "CLUSTER,...",
            Description = "Clusters the tenant's namespaces may use (they must exist; one a namespace or topic replicates to cannot be left out). Not given: unchanged.",
        };
        var updateRoles = new Option<string?>("--admin-roles", "-r")
        {
            HelpName = "ROLE,...",
            Description = "Roles that administer the tenant. Not given: unchanged.",
        };
        var update = new Command("update", "Change a tenant's allowed clusters or admin roles.") { tenant, updateClusters, updateRoles };
        Run(update, async (p, http, ct) =>
        {
            var path = AdminHttp.Path("tenants", p.GetValue(tenant)!);
            if (p.GetValue(updateClusters) is null && p.GetValue(updateRoles) is null)
                throw new ArgumentException("Give --allowed-clusters, --admin-roles or both.");
            var (exit, current) = await http.GetJsonAsync(path, ct);
            if (exit != Exit.Ok)
                return exit;
            List<string> Current(string field) => current.TryGetProperty(field, out var list) && list.ValueKind == JsonValueKind.Array
                ? [.. list.EnumerateArray().Select(e => e.GetString() ?? "")]
                : [];
            var body = new
            {
                adminRoles = p.GetValue(updateRoles) is { } roles ? SplitList(roles) : Current("adminRoles"),
                allowedClusters = p.GetValue(updateClusters) is { } allowed ? SplitList(allowed) : Current("allowedClusters"),
            };
            return await http.SendAsync(HttpMethod.Post, path, JsonSerializer.Serialize(body), ct);
        });

        var delete = new Command("delete", "Delete a tenant (refused while it has namespaces).") { tenant };
        Run(delete, (p, http, ct) => http.SendAsync(HttpMethod.Delete, AdminHttp.Path("tenants", p.GetValue(tenant)!), null, ct));

        return new Command("tenants", "Tenants: who administers them and which clusters they may use.") { list, get, create, update, delete };
    }
}
