namespace Tiered.Security.Authorization;

/// <summary>
/// Decides whether a role may act, Pulsar's way, from what it is given and nothing else (no storage, no I/O,
/// so it is cheap on the data path and tested alone):
/// <list type="bullet">
/// <item>super-user roles (a broker option) may do everything;</item>
/// <item>a tenant's <c>adminRoles</c> may manage that tenant, and produce to and consume from its topics;</item>
/// <item>otherwise a role may produce or consume what it was granted on the topic's namespace or on the topic
/// (a partitioned topic's grants cover its partitions); consuming through a subscription that has a role list
/// also needs the role to be on it;</item>
/// <item>a lookup needs produce or consume.</item>
/// </list>
/// The caller supplies, for the topic's tenant, its admin roles, and for its namespace, its
/// <see cref="AuthPolicies"/> (null or empty: nothing granted).
/// </summary>
public sealed class Authorizer
{
    private readonly HashSet<string> _superUsers;

    public Authorizer(IEnumerable<string> superUserRoles)
    {
        ArgumentNullException.ThrowIfNull(superUserRoles);
        _superUsers = new HashSet<string>(superUserRoles.Where(r => !string.IsNullOrWhiteSpace(r)), StringComparer.Ordinal);
    }

    public IReadOnlySet<string> SuperUserRoles => _superUsers;

    public bool IsSuperUser(string? role) => role is not null && _superUsers.Contains(role);

    /// <summary>Whether <paramref name="role"/> may manage <paramref name="tenant"/> (whose admin roles are <paramref name="adminRoles"/>): super-users may.</summary>
    public AuthorizationDecision IsTenantAdmin(string? role, string tenant, IEnumerable<string>? adminRoles)
    {
        if (role is null)
            return AuthorizationDecision.Deny(null, "tenant admin", $"A request without a role may not manage tenant {tenant}.");
        if (IsSuperUser(role))
            return AuthorizationDecision.Allow(role, $"Role '{role}' is a super-user.");
        if (adminRoles?.Contains(role, StringComparer.Ordinal) == true)
            return AuthorizationDecision.Allow(role, $"Role '{role}' is an admin of tenant {tenant}.");
        return AuthorizationDecision.Deny(role, "tenant admin",
            $"Role '{role}' is not an admin of tenant {tenant}: only the tenant's adminRoles and super-users may manage it.");
    }

    /// <summary>Whether <paramref name="role"/> may publish to <paramref name="topic"/> (a full name).</summary>
    public AuthorizationDecision CanProduce(string? role, string topic, IEnumerable<string>? tenantAdminRoles, AuthPolicies? policies)
        => Can(role, AuthAction.Produce, "produce to", AuthTopic.Parse(topic), tenantAdminRoles, policies);

    /// <summary>
    /// Whether <paramref name="role"/> may consume from <paramref name="topic"/> through <paramref name="subscription"/>
    /// (null: no subscription, e.g. a reader's seek): the consume grant, and the subscription's role list when it has one.
    /// </summary>
    public AuthorizationDecision CanConsume(string? role, string topic, string? subscription, IEnumerable<string>? tenantAdminRoles, AuthPolicies? policies)
    {
        var name = AuthTopic.Parse(topic);
        if (Privileged(role, name, tenantAdminRoles) is { } allowed)
            return allowed;
        if (role is null)
            return Anonymous(AuthAction.Consume, "consume from", name);
        policies ??= AuthPolicies.Empty;
        var roles = string.IsNullOrEmpty(subscription) ? [] : policies.SubscriptionRoles(subscription);
        if (roles.Count > 0 && !roles.Contains(role, StringComparer.Ordinal))
        {
            return AuthorizationDecision.Deny(role, AuthAction.Consume,
                $"Role '{role}' may not consume from {name} through subscription '{subscription}': in namespace {name.Namespace} that subscription is "
                + $"restricted to roles [{string.Join(", ", roles)}] (POST /admin/v2/namespaces/{name.Namespace}/permissions/subscription/{subscription} sets them).");
        }
        return Granted(role, AuthAction.Consume, "consume from", name, policies);
    }

    /// <summary>Whether <paramref name="role"/> may look <paramref name="topic"/> up: it may produce to it or consume from it (any subscription).</summary>
    public AuthorizationDecision CanLookup(string? role, string topic, IEnumerable<string>? tenantAdminRoles, AuthPolicies? policies)
    {
        var name = AuthTopic.Parse(topic);
        if (Privileged(role, name, tenantAdminRoles) is { } allowed)
            return allowed;
        if (role is null)
            return Anonymous("produce or consume", "look up", name);
        policies ??= AuthPolicies.Empty;
        foreach (var action in AuthAction.Supported)
        {
            if (policies.Grants(role, action, name.Name))
                return AuthorizationDecision.Allow(role, $"Role '{role}' may look up {name}: it was granted '{action}' on it.");
        }
        return AuthorizationDecision.Deny(role, "produce or consume",
            $"Role '{role}' may not look up {name}: it has neither 'produce' nor 'consume' permission on namespace {name.Namespace} or on the topic "
            + $"(grant one with POST /admin/v2/namespaces/{name.Namespace}/permissions/{role}).");
    }

    private AuthorizationDecision Can(string? role, string action, string verb, AuthTopic name, IEnumerable<string>? tenantAdminRoles, AuthPolicies? policies)
    {
        if (Privileged(role, name, tenantAdminRoles) is { } allowed)
            return allowed;
        return role is null ? Anonymous(action, verb, name) : Granted(role, action, verb, name, policies ?? AuthPolicies.Empty);
    }

    /// <summary>Allowed for a super-user or an admin of the topic's tenant; null for anyone else.</summary>
    private AuthorizationDecision? Privileged(string? role, AuthTopic name, IEnumerable<string>? tenantAdminRoles)
    {
        if (role is null)
            return null;
        if (IsSuperUser(role))
            return AuthorizationDecision.Allow(role, $"Role '{role}' is a super-user.");
        if (tenantAdminRoles?.Contains(role, StringComparer.Ordinal) == true)
            return AuthorizationDecision.Allow(role, $"Role '{role}' is an admin of tenant {name.Tenant}.");
        return null;
    }

    private static AuthorizationDecision Granted(string role, string action, string verb, AuthTopic name, AuthPolicies policies)
    {
        if (policies.GrantsOnNamespace(role, action))
            return AuthorizationDecision.Allow(role, $"Role '{role}' was granted '{action}' on namespace {name.Namespace}.");
        if (policies.Grants(role, action, name.Name))
            return AuthorizationDecision.Allow(role, $"Role '{role}' was granted '{action}' on topic {name.PartitionedName}.");
        return AuthorizationDecision.Deny(role, action,
            $"Role '{role}' may not {verb} {name}: it has no '{action}' permission on namespace {name.Namespace} or on the topic "
            + $"(grant it with POST /admin/v2/namespaces/{name.Namespace}/permissions/{role} or POST /admin/v2/persistent/{name.PartitionedName[AuthTopic.Scheme.Length..]}/permissions/{role}).");
    }

    private static AuthorizationDecision Anonymous(string action, string verb, AuthTopic name)
        => AuthorizationDecision.Deny(null, action, $"A request without a role may not {verb} {name}: it needs a token of a role granted '{action}'.");
}
