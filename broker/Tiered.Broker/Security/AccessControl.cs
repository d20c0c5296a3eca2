using Microsoft.AspNetCore.Http;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Security.Authorization;
using Tiered.Security.Hosting;

namespace Tiered.Broker.Security;

/// <summary>
/// The one place the broker's gRPC service and admin API ask whether a request may do what it asks: its role (from
/// its verified token) against the super-users, the tenant's admin roles and the namespace's grants, all read from
/// the policy cache (kept current by metadata watches), so a check costs no metadata read once warm. Checked once per
/// call or stream (a producer's or consumer's open), never per message. With authentication off every request is
/// allowed. A refusal is a <see cref="BrokerException"/>: <see cref="BrokerErrorCode.Unauthenticated"/> (no valid
/// token: 401) or <see cref="BrokerErrorCode.PermissionDenied"/> (403), naming the role and the missing right.
/// </summary>
public sealed class AccessControl(TieredSecurity security, PolicyStore policies)
{
    public bool Enabled => security.Enabled;

    /// <summary>Produce or consume on the topic (what a lookup needs, as in Pulsar: consumers look topics up too).</summary>
    public async ValueTask CheckLookupAsync(HttpContext context, TopicName topic, CancellationToken cancellationToken)
    {
        if (Role(context) is not { } role)
            return;
        var (admins, grants) = await PoliciesOfAsync(topic, cancellationToken).ConfigureAwait(false);
        Require(security.Authorizer.CanLookup(role, topic.ToString(), admins, grants));
    }

    public async ValueTask CheckProduceAsync(HttpContext context, TopicName topic, CancellationToken cancellationToken)
    {
        if (Role(context) is not { } role)
            return;
        var (admins, grants) = await PoliciesOfAsync(topic, cancellationToken).ConfigureAwait(false);
        Require(security.Authorizer.CanProduce(role, topic.ToString(), admins, grants));
    }

    /// <param name="subscription">The subscription, when the call names one (a reader's, or a topic's stats, do not). Tenant admins may always.</param>
    public async ValueTask CheckConsumeAsync(HttpContext context, TopicName topic, string? subscription, CancellationToken cancellationToken)
    {
        if (Role(context) is not { } role)
            return;
        var (admins, grants) = await PoliciesOfAsync(topic, cancellationToken).ConfigureAwait(false);
        Require(security.Authorizer.CanConsume(role, topic.ToString(), subscription, admins, grants));
    }

    /// <summary>Managing a tenant's namespaces, topics and policies: admin of the tenant, or a super-user.</summary>
    public async ValueTask CheckTenantAdminAsync(HttpContext context, string tenant, CancellationToken cancellationToken)
    {
        if (Role(context) is not { } role)
            return;
        var admins = (await policies.GetTenantAsync(tenant, cancellationToken).ConfigureAwait(false))?.AdminRoles;
        Require(security.Authorizer.IsTenantAdmin(role, tenant, admins));
    }

    /// <summary>What only super-users may do (clusters, tenants, brokers, bookies).</summary>
    public void CheckSuperUser(HttpContext context, string what)
    {
        if (Role(context) is { } role && !security.Authorizer.IsSuperUser(role))
            throw new BrokerException(BrokerErrorCode.PermissionDenied, $"Role '{role}' may not {what}: only super-user roles may (the broker's --superuser-roles).");
    }

    /// <summary>Any valid token (reading the list of clusters, say).</summary>
    public void CheckAuthenticated(HttpContext context) => Role(context);

    /// <summary>The request's role; null when authentication is off.</summary>
    private string? Role(HttpContext context)
        => security.TryAuthenticate(context, out var role, out var refusal) ? role : throw new BrokerException(BrokerErrorCode.Unauthenticated, refusal);

    private async ValueTask<(IEnumerable<string>? Admins, AuthPolicies? Grants)> PoliciesOfAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var admins = (await policies.GetTenantAsync(topic.Tenant, cancellationToken).ConfigureAwait(false))?.AdminRoles;
        var grants = await policies.GetAuthPoliciesAsync(topic.Namespace, cancellationToken).ConfigureAwait(false);
        return (admins, grants);
    }

    private static void Require(AuthorizationDecision decision)
    {
        if (!decision.IsAllowed)
            throw new BrokerException(BrokerErrorCode.PermissionDenied, decision.Reason);
    }
}
