using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Security.Authorization;

namespace Tiered.AdminApi.Endpoints;

/// <summary>
/// Pulsar's namespace permissions: grants of produce/consume to roles on the whole namespace, and the role lists
/// subscriptions are restricted to. They live in the namespace's policies as <c>auth_policies</c> and are changed
/// by compare-and-set on the whole record (retried on a concurrent change), so no concurrent grant is lost.
/// Everything in the request is checked before anything is read, so a refusal changes nothing.
/// </summary>
/// <remarks>Stored only: requests are not checked against these permissions yet (docs/authorization.md).</remarks>
internal static partial class NamespaceEndpoints
{
    private const string Permissions = "/{tenant}/{namespace}/permissions";

    private static void MapPermissions(RouteGroupBuilder namespaces, AdminContext context)
    {
        var permissions = namespaces.MapGroup("").WithTags("permissions");
        permissions.MapGet(Permissions, async Task<Ok<IReadOnlyDictionary<string, IReadOnlyList<string>>>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            return TypedResults.Ok((await AuthPoliciesAsync(context, name, ct).ConfigureAwait(false)).NamespaceAuth);
        }).WithSummary("The roles granted actions on the whole namespace: {role: [\"produce\",\"consume\"]} (topic-level grants: GET /admin/v2/persistent/{tenant}/{namespace}/{topic}/permissions).");

        permissions.MapPost(Permissions + "/{role}", async Task<NoContent> (string tenant, string @namespace, string role, HttpRequest request, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            PermissionRules.Role(role);
            var actions = PermissionRules.Actions(await AdminJson.ReadBodyAsync<List<string?>>(request, required: true, ct).ConfigureAwait(false));
            await UpdateAuthAsync(context, name, auth => auth.WithNamespaceGrant(role, actions), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<List<string>>("application/json")
          .WithSummary("Grants the role these actions on every topic of the namespace (body: [\"produce\",\"consume\"], either or both), replacing what it had on the namespace.");

        permissions.MapDelete(Permissions + "/{role}", async Task<NoContent> (string tenant, string @namespace, string role, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            PermissionRules.Role(role);
            await UpdateAuthAsync(context, name, auth => auth.WithoutNamespaceGrant(role), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Revokes the role's namespace-level grant (its topic-level grants stay); 204 also when it had none.");

        permissions.MapGet(Permissions + "/subscription", async Task<Ok<IReadOnlyDictionary<string, IReadOnlyList<string>>>> (string tenant, string @namespace, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            return TypedResults.Ok((await AuthPoliciesAsync(context, name, ct).ConfigureAwait(false)).SubscriptionAuthRoles);
        }).WithSummary("The subscriptions restricted to some roles: {subscription: [roles]}.");

        permissions.MapPost(Permissions + "/subscription/{subscription}", async Task<NoContent> (string tenant, string @namespace, string subscription, HttpRequest request, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            AdminNames.Subscription(subscription);
            var roles = PermissionRules.Roles(await AdminJson.ReadBodyAsync<List<string?>>(request, required: true, ct).ConfigureAwait(false));
            await UpdateAuthAsync(context, name, auth => auth.WithSubscriptionRoles(subscription, roles), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).Accepts<List<string>>("application/json")
          .WithSummary("Restricts the subscription (of any topic of the namespace) to these roles (body: [\"role\",…]), replacing its list: only they may consume through it, and still need consume.");

        permissions.MapDelete(Permissions + "/subscription/{subscription}", async Task<NoContent> (string tenant, string @namespace, string subscription, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            AdminNames.Subscription(subscription);
            await UpdateAuthAsync(context, name, auth => auth.WithoutSubscriptionRoles(subscription), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Lifts the subscription's restriction: any role that may consume may use it again; 204 also when it had none.");

        // Pulsar's own path: takes one role off the subscription's list.
        permissions.MapDelete(Permissions + "/{subscription}/{role}", async Task<NoContent> (string tenant, string @namespace, string subscription, string role, CancellationToken ct) =>
        {
            var name = AdminNames.Namespace(tenant, @namespace);
            AdminNames.Subscription(subscription);
            PermissionRules.Role(role);
            await UpdateAuthAsync(context, name, auth => auth.WithoutSubscriptionRole(subscription, role), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Takes one role off the subscription's list (Pulsar's revoke-subscription-permission); a list left empty is removed, which opens the subscription to every role that may consume.");
    }

    /// <summary>The namespace's auth policies (empty when nothing was granted); 404 for a tenant or namespace that does not exist.</summary>
    private static async Task<AuthPolicies> AuthPoliciesAsync(AdminContext context, NamespaceName name, CancellationToken ct)
    {
        var stored = await context.Store.GetAsync<NamespacePolicies>(MetadataPaths.Namespace(name), ct).ConfigureAwait(false)
            ?? throw await NotFoundAsync(context, name, ct).ConfigureAwait(false);
        return stored.Value.AuthPolicies ?? AuthPolicies.Empty;
    }

    /// <summary>
    /// Changes the namespace's auth policies by compare-and-set on its policies (a concurrent change of any policy makes
    /// this one read and decide again); policies left with no grant at all are stored as none, as before any grant.
    /// </summary>
    internal static async Task UpdateAuthAsync(AdminContext context, NamespaceName name, Func<AuthPolicies, AuthPolicies> change, CancellationToken ct)
    {
        var tenantMissing = !await context.Store.ExistsAsync(MetadataPaths.Tenant(name.Tenant), ct).ConfigureAwait(false);
        if (tenantMissing)
            throw TenantEndpoints.NotFound(name.Tenant);
        await context.Store.UpdateAsync<NamespacePolicies>(MetadataPaths.Namespace(name), $"Namespace {name}", () => NotFound(name), policies =>
        {
            var changed = change(policies.AuthPolicies ?? AuthPolicies.Empty);
            return policies with { AuthPolicies = changed.IsEmpty ? null : changed };
        }, ct).ConfigureAwait(false);
    }

    /// <summary>TenantNotFound when the tenant is missing too (so the reason names what to create first), else NamespaceNotFound.</summary>
    private static async Task<Broker.BrokerException> NotFoundAsync(AdminContext context, NamespaceName name, CancellationToken ct)
        => await context.Store.ExistsAsync(MetadataPaths.Tenant(name.Tenant), ct).ConfigureAwait(false) ? NotFound(name) : TenantEndpoints.NotFound(name.Tenant);
}
