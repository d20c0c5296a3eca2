using System.CommandLine;
using System.Text.Json;

namespace Tiered.Cli;

/// <summary>
/// <c>tiered admin namespaces|topics …-permission(s)</c>: who may produce and consume (pulsar-admin's subcommands
/// and flags). A broker with authentication on checks requests against them (docs/authorization.md).
/// </summary>
internal static partial class AdminCommand
{
    private const string NotEnforced = "Stored now; requests are checked against permissions once authorization is enabled (see docs/authorization.md).";

    private static IEnumerable<Command> NamespacePermissionCommands(Argument<string> ns)
    {
        var (role, actions) = GrantOptions();
        var grant = new Command("grant-permission",
            $"Grant a role actions (produce, consume) on every topic of the namespace, replacing what it had on the namespace. {NotEnforced}") { ns, role, actions };
        Run(grant, (p, http, ct) => http.SendAsync(HttpMethod.Post, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "permissions", p.GetValue(role)!]),
            ActionsJson(p.GetValue(actions)), ct));

        var revokeRole = RoleOption("The role whose namespace-level grant is revoked.");
        var revoke = new Command("revoke-permission", "Revoke a role's grant on the namespace (its topic-level grants stay).") { ns, revokeRole };
        Run(revoke, (p, http, ct) => http.SendAsync(HttpMethod.Delete, AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "permissions", p.GetValue(revokeRole)!]), null, ct));

        var list = new Command("permissions", "The roles granted actions on the whole namespace, as JSON {role: [actions]}.") { ns };
        Run(list, (p, http, ct) => http.GetAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "permissions"]), ct));

        var subscription = new Option<string>("--subscription", "-s") { HelpName = "SUBSCRIPTION", Description = "The subscription (of any topic of the namespace).", Required = true };
        var roles = new Option<string>("--roles")
        {
            HelpName = "ROLE,...",
            Description = "The only roles that may consume through the subscription (they still need consume).",
            Required = true,
        };
        var grantSubscription = new Command("grant-subscription-permission",
            $"Restrict a subscription to some roles, replacing its list: other roles may not consume through it. {NotEnforced}") { ns, subscription, roles };
        Run(grantSubscription, (p, http, ct) => http.SendAsync(HttpMethod.Post,
            AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "permissions", "subscription", p.GetValue(subscription)!]),
            JsonSerializer.Serialize(SplitList(p.GetValue(roles))), ct));

        var oneRole = new Option<string?>("--role", "-r") { HelpName = "ROLE", Description = "Take only this role off the subscription's list (a list left empty opens the subscription)." };
        var revokeSubscription = new Command("revoke-subscription-permission",
            "Lift a subscription's restriction (any role that may consume may use it again), or with --role take one role off its list.") { ns, subscription, oneRole };
        Run(revokeSubscription, (p, http, ct) => http.SendAsync(HttpMethod.Delete, p.GetValue(oneRole) is { } only
            ? AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "permissions", p.GetValue(subscription)!, only])
            : AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "permissions", "subscription", p.GetValue(subscription)!]), null, ct));

        var listSubscriptions = new Command("subscription-permissions", "The subscriptions restricted to some roles, as JSON {subscription: [roles]}.") { ns };
        Run(listSubscriptions, (p, http, ct) => http.GetAsync(AdminHttp.Path(["namespaces", .. NamespaceSegments(p.GetValue(ns)!), "permissions", "subscription"]), ct));

        return [grant, revoke, list, grantSubscription, revokeSubscription, listSubscriptions];
    }

    private static IEnumerable<Command> TopicPermissionCommands(Argument<string> topic)
    {
        var (role, actions) = GrantOptions();
        var grant = new Command("grant-permission",
            $"Grant a role actions (produce, consume) on one topic, replacing its grant there; on a partitioned topic it covers every partition. The topic need not exist yet. {NotEnforced}")
            { topic, role, actions };
        Run(grant, (p, http, ct) => http.SendAsync(HttpMethod.Post, TopicPath(p.GetValue(topic)!, "permissions", p.GetValue(role)!), ActionsJson(p.GetValue(actions)), ct));

        var revokeRole = RoleOption("The role whose grant on the topic is revoked.");
        var revoke = new Command("revoke-permission", "Revoke a role's grant on the topic (refused when it has none on the topic itself; namespace-level grants stay).") { topic, revokeRole };
        Run(revoke, (p, http, ct) => http.SendAsync(HttpMethod.Delete, TopicPath(p.GetValue(topic)!, "permissions", p.GetValue(revokeRole)!), null, ct));

        var list = new Command("permissions", "The roles that may act on the topic: its namespace's grants united with the topic's own, as JSON {role: [actions]}.") { topic };
        Run(list, (p, http, ct) => http.GetAsync(TopicPath(p.GetValue(topic)!, "permissions"), ct));

        return [grant, revoke, list];
    }

    private static Option<string> RoleOption(string description) => new("--role", "-r") { HelpName = "ROLE", Description = description, Required = true };

    private static (Option<string> Role, Option<string> Actions) GrantOptions()
        => (RoleOption("The role (a token's subject) to grant to."),
            new Option<string>("--actions", "-a") { HelpName = "produce,consume", Description = "What the role may do: produce, consume, or both.", Required = true });

    /// <summary>The JSON array of a grant; an unknown action is left for the server to refuse with what it supports.</summary>
    private static string ActionsJson(string? actions)
    {
        var list = SplitList(actions);
        return list.Count == 0
            ? throw new ArgumentException("--actions needs produce, consume or produce,consume.")
            : JsonSerializer.Serialize(list);
    }
}
