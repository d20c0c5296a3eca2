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

        return new Command("clusters", "Clusters registered in this cluster's metadata.") { list, get };
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

        var delete = new Command("delete", "Delete a tenant (refused while it has namespaces).") { tenant };
        Run(delete, (p, http, ct) => http.SendAsync(HttpMethod.Delete, AdminHttp.Path("tenants", p.GetValue(tenant)!), null, ct));

        return new Command("tenants", "Tenants: who administers them and which clusters they may use.") { list, get, create, delete };
    }
}
