using Tiered.Broker;
using Tiered.Broker.Admin;
using Tiered.Broker.Naming;
using Tiered.Security.Authorization;

namespace Tiered.AdminApi;

/// <summary>
/// Checks of what the permissions endpoints are given: role names, the actions of a grant, the roles of a
/// subscription's list, and <c>auth_policies</c> in a namespace's creation body. Each failure is a 400 with the
/// reason, decided before anything is read or written, so a refused request changes nothing.
/// </summary>
internal static class PermissionRules
{
    public static string Role(string? role) => AuthNames.RoleProblem(role) is { } problem
        ? throw new BrokerException(BrokerErrorCode.BadName, $"Invalid role {Names.Quote(role)}: {problem}.")
        : role!;

    /// <summary>The actions of a grant: at least one, each "produce" or "consume".</summary>
    public static IReadOnlyList<string> Actions(IReadOnlyList<string?>? actions)
    {
        if (actions is null || actions.Count == 0)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"A grant needs at least one action, as a JSON array such as [\"{AuthAction.Produce}\",\"{AuthAction.Consume}\"]; to take a role's permissions away, DELETE them.");
        foreach (var action in actions)
        {
            if (!AuthAction.IsSupported(action))
                throw new BrokerException(BrokerErrorCode.BadRequest,
                    $"Unsupported action {Names.Quote(action)}: Tiered grants only {AuthAction.SupportedList} (it has no functions, sources, sinks or packages).");
        }
        return [.. actions!];
    }

    /// <summary>The roles a subscription is restricted to: at least one, each a valid role name.</summary>
    public static IReadOnlyList<string> Roles(IReadOnlyList<string?>? roles)
    {
        if (roles is null || roles.Count == 0)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                "A subscription's restriction needs at least one role, as a JSON array such as [\"app\"]; to lift the restriction, DELETE it.");
        foreach (var role in roles)
            Role(role);
        return [.. roles!];
    }

    /// <summary>
    /// <c>auth_policies</c> given in a namespace's creation body: every role, action and subscription valid, and every
    /// topic of <c>destination_auth</c> a full name in <paramref name="ns"/> (a grant on another namespace's topic would never apply).
    /// </summary>
    public static void Validate(NamespaceName ns, AuthPolicies? policies)
    {
        if (policies is null)
            return;
        foreach (var (role, actions) in policies.NamespaceAuth)
        {
            Role(role);
            Actions(actions);
        }
        foreach (var (topic, grants) in policies.DestinationAuth)
        {
            Topic(ns, topic);
            foreach (var (role, actions) in grants)
            {
                Role(role);
                Actions(actions);
            }
        }
        foreach (var (subscription, roles) in policies.SubscriptionAuthRoles)
        {
            AdminNames.Subscription(subscription);
            Roles(roles);
        }
    }

    private static void Topic(NamespaceName ns, string topic)
    {
        TopicName name;
        try
        {
            name = TopicName.Parse(topic);
        }
        catch (BrokerException e)
        {
            throw new BrokerException(BrokerErrorCode.BadRequest, $"Invalid auth_policies.destination_auth: {e.Message}", e);
        }
        if (name.ToString() != topic || name.Namespace != ns)
            throw new BrokerException(BrokerErrorCode.BadRequest,
                $"Invalid auth_policies.destination_auth: {Names.Quote(topic)} is not a full topic name (persistent://{ns}/topic) in namespace {ns}.");
    }
}
