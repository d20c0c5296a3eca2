using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Tiered.Broker;
using Tiered.Broker.Naming;
using Tiered.Broker.Security;

namespace Tiered.AdminApi;

/// <summary>
/// Who may call which admin endpoint, as Pulsar's admin API decides: by the endpoint's route and method, before the
/// endpoint runs (a refused request changes nothing). With authentication off (no <see cref="AccessControl"/>, or one
/// that is off) everything is allowed.
/// </summary>
internal static class AdminAccess
{
    public enum Rule
    {
        /// <summary>Any role with a valid token (reading the list of clusters).</summary>
        Authenticated,

        /// <summary>Clusters, tenants, brokers, bookies: the cluster's operators.</summary>
        SuperUser,

        /// <summary>A tenant's namespaces, topics, policies and permissions.</summary>
        TenantAdmin,

        /// <summary>Reading a topic (stats, messages, positions) or acting on one of its subscriptions: consume (on that subscription) or tenant admin.</summary>
        Consume,

        /// <summary>Finding a topic (its owner, its partitions): produce or consume.</summary>
        Lookup,
    }

    /// <summary>The rule for a route pattern (as mapped, with its /admin/v2 or /lookup/v2 prefix) and HTTP method.</summary>
    public static Rule Classify(string method, string pattern)
    {
        var get = HttpMethods.IsGet(method);
        if (pattern.StartsWith(AdminApi.LookupPrefix, StringComparison.Ordinal))
            return Rule.Lookup;
        if (pattern.StartsWith(AdminApi.Prefix + "/clusters", StringComparison.Ordinal))
            return get ? Rule.Authenticated : Rule.SuperUser;
        if (pattern.StartsWith(AdminApi.Prefix + "/tenants", StringComparison.Ordinal))
            return get && pattern.Contains("{tenant}", StringComparison.Ordinal) ? Rule.TenantAdmin : Rule.SuperUser;
        if (!pattern.Contains("{tenant}", StringComparison.Ordinal))
            return Rule.SuperUser;
        if (pattern.Contains("{topic}", StringComparison.Ordinal))
        {
            if (pattern.Contains("/permissions", StringComparison.Ordinal))
                return Rule.TenantAdmin;
            if (get && pattern.EndsWith("/partitions", StringComparison.Ordinal))
                return Rule.Lookup;
            if (pattern.Contains("{subscription}", StringComparison.Ordinal) || (get && !pattern.EndsWith("/offload", StringComparison.Ordinal)))
                return Rule.Consume;
        }
        return Rule.TenantAdmin;
    }

    /// <summary>The filter every admin endpoint runs behind (inside the problem filter, so a refusal is a problem answer).</summary>
    public static EndpointFilterDelegate Filter(EndpointFilterFactoryContext factory, EndpointFilterDelegate next)
        => async context =>
        {
            var http = context.HttpContext;
            if (http.RequestServices.GetService<AccessControl>() is { Enabled: true } access && http.GetEndpoint() is RouteEndpoint endpoint)
                await CheckAsync(access, http, Classify(http.Request.Method, endpoint.RoutePattern.RawText ?? ""), http.RequestAborted).ConfigureAwait(false);
            return await next(context).ConfigureAwait(false);
        };

    private static async ValueTask CheckAsync(AccessControl access, HttpContext http, Rule rule, CancellationToken cancellationToken)
    {
        switch (rule)
        {
            case Rule.Authenticated:
                access.CheckAuthenticated(http);
                break;
            case Rule.SuperUser:
                access.CheckSuperUser(http, $"{http.Request.Method} {http.Request.Path}");
                break;
            case Rule.TenantAdmin:
                await access.CheckTenantAdminAsync(http, Route(http, "tenant"), cancellationToken).ConfigureAwait(false);
                break;
            case Rule.Consume:
                await access.CheckConsumeAsync(http, TopicOf(http), http.GetRouteValue("subscription") as string, cancellationToken).ConfigureAwait(false);
                break;
            case Rule.Lookup:
                await access.CheckLookupAsync(http, TopicOf(http), cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    private static string Route(HttpContext http, string name)
        => http.GetRouteValue(name) as string ?? throw new BrokerException(BrokerErrorCode.BadRequest, $"The request names no {name}.");

    private static TopicName TopicOf(HttpContext http)
        => TopicName.Parse($"persistent://{Route(http, "tenant")}/{Route(http, "namespace")}/{Route(http, "topic")}");
}
