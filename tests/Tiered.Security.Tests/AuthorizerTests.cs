using System.Text.Json;
using Tiered.Security.Authorization;

namespace Tiered.Security.Tests;

/// <summary>
/// The evaluator against a matrix of roles and operations, over the policies of namespace a/ns as the admin API
/// would have stored them: tenant a (admins: admin-a) and tenant b (admins: admin-b) exist.
/// </summary>
public sealed class AuthorizerTests
{
    private const string T1 = "persistent://a/ns/t1";
    private const string T2 = "persistent://a/ns/t2";
    private const string Partition = "persistent://a/ns/t1-partition-3";
    private const string InB = "persistent://b/ns/t1";

    private static readonly string[] AdminsOfA = ["admin-a"];
    private static readonly string[] AdminsOfB = ["admin-b"];

    /// <summary>a/ns: producer may produce, consumer and vip may consume, topic-role has both on t1 only, subscription "locked" admits only vip.</summary>
    private static readonly AuthPolicies Policies = AuthPolicies.Empty
        .WithNamespaceGrant("producer", [AuthAction.Produce])
        .WithNamespaceGrant("consumer", [AuthAction.Consume])
        .WithNamespaceGrant("vip", [AuthAction.Consume])
        .WithTopicGrant(T1, "topic-role", [AuthAction.Produce, AuthAction.Consume])
        .WithSubscriptionRoles("locked", ["vip"]);

    private static readonly Authorizer Authorizer = new(["root"]);

    private static AuthorizationDecision Decide(string? role, string operation) => operation switch
    {
        "produce t1" => Authorizer.CanProduce(role, T1, AdminsOfA, Policies),
        "produce t2" => Authorizer.CanProduce(role, T2, AdminsOfA, Policies),
        "produce t1-partition-3" => Authorizer.CanProduce(role, Partition, AdminsOfA, Policies),
        "consume t1 free" => Authorizer.CanConsume(role, T1, "free", AdminsOfA, Policies),
        "consume t1 locked" => Authorizer.CanConsume(role, T1, "locked", AdminsOfA, Policies),
        "consume t2 free" => Authorizer.CanConsume(role, T2, "free", AdminsOfA, Policies),
        "lookup t1" => Authorizer.CanLookup(role, T1, AdminsOfA, Policies),
        "lookup t2" => Authorizer.CanLookup(role, T2, AdminsOfA, Policies),
        // Tenant b's topic, under b's admins and b's (empty) policies.
        "produce b" => Authorizer.CanProduce(role, InB, AdminsOfB, AuthPolicies.Empty),
        "consume b" => Authorizer.CanConsume(role, InB, "free", AdminsOfB, null),
        "admin a" => Authorizer.IsTenantAdmin(role, "a", AdminsOfA),
        "admin b" => Authorizer.IsTenantAdmin(role, "b", AdminsOfB),
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, null),
    };

    private static readonly string[] Operations =
    [
        "produce t1", "produce t2", "produce t1-partition-3", "consume t1 free", "consume t1 locked", "consume t2 free",
        "lookup t1", "lookup t2", "produce b", "consume b", "admin a", "admin b",
    ];

    /// <summary>Role → the operations it may do; every other operation of <see cref="Operations"/> is refused.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["root"] = Operations,
        ["admin-a"] = ["produce t1", "produce t2", "produce t1-partition-3", "consume t1 free", "consume t1 locked", "consume t2 free", "lookup t1", "lookup t2", "admin a"],
        ["admin-b"] = ["produce b", "consume b", "admin b"],
        ["producer"] = ["produce t1", "produce t2", "produce t1-partition-3", "lookup t1", "lookup t2"],
        ["consumer"] = ["consume t1 free", "consume t2 free", "lookup t1", "lookup t2"],
        ["vip"] = ["consume t1 free", "consume t1 locked", "consume t2 free", "lookup t1", "lookup t2"],
        ["topic-role"] = ["produce t1", "produce t1-partition-3", "consume t1 free", "lookup t1"],
        ["nobody"] = [],
    };

    public static TheoryData<string, string, bool> Matrix()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (var (role, allowed) in Allowed)
        {
            foreach (var operation in Operations)
                data.Add(role, operation, allowed.Contains(operation));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Each_role_may_do_exactly_what_it_was_given(string role, string operation, bool expected)
    {
        var decision = Decide(role, operation);
        Assert.True(decision.IsAllowed == expected, $"{role} / {operation}: expected {(expected ? "allowed" : "refused")}, got {decision}");
        Assert.Equal(role, decision.Role);
        Assert.Contains($"'{role}'", decision.Reason, StringComparison.Ordinal);
        if (expected)
            Assert.Null(decision.MissingAction);
        else
            Assert.False(string.IsNullOrEmpty(decision.MissingAction));
    }

    [Theory]
    [InlineData("produce t1")]
    [InlineData("consume t1 free")]
    [InlineData("lookup t1")]
    [InlineData("admin a")]
    public void A_request_without_a_role_is_refused(string operation)
    {
        var decision = Decide(null, operation);
        Assert.False(decision.IsAllowed);
        Assert.Null(decision.Role);
        Assert.Contains("without a role", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_names_the_role_the_missing_action_and_where_to_grant_it()
    {
        var produce = Authorizer.CanProduce("consumer", T1, AdminsOfA, Policies);
        Assert.Equal(AuthAction.Produce, produce.MissingAction);
        Assert.Contains("Role 'consumer' may not produce to persistent://a/ns/t1", produce.Reason, StringComparison.Ordinal);
        Assert.Contains("no 'produce' permission", produce.Reason, StringComparison.Ordinal);
        Assert.Contains("/admin/v2/namespaces/a/ns/permissions/consumer", produce.Reason, StringComparison.Ordinal);
        Assert.Contains("/admin/v2/persistent/a/ns/t1/permissions/consumer", produce.Reason, StringComparison.Ordinal);

        var locked = Authorizer.CanConsume("consumer", T1, "locked", AdminsOfA, Policies);
        Assert.Equal(AuthAction.Consume, locked.MissingAction);
        Assert.Contains("subscription 'locked'", locked.Reason, StringComparison.Ordinal);
        Assert.Contains("[vip]", locked.Reason, StringComparison.Ordinal);

        var lookup = Authorizer.CanLookup("nobody", T1, AdminsOfA, Policies);
        Assert.Equal("produce or consume", lookup.MissingAction);

        var admin = Authorizer.IsTenantAdmin("admin-b", "a", AdminsOfA);
        Assert.Equal("tenant admin", admin.MissingAction);
        Assert.Contains("not an admin of tenant a", admin.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_grant_on_one_partition_covers_that_partition_only_and_a_grant_on_the_partitioned_topic_covers_all()
    {
        var policies = AuthPolicies.Empty.WithTopicGrant("persistent://a/ns/p-partition-1", "one", [AuthAction.Produce])
            .WithTopicGrant("persistent://a/ns/p", "all", [AuthAction.Produce]);
        Assert.True(Authorizer.CanProduce("one", "persistent://a/ns/p-partition-1", [], policies).IsAllowed);
        Assert.False(Authorizer.CanProduce("one", "persistent://a/ns/p-partition-2", [], policies).IsAllowed);
        Assert.False(Authorizer.CanProduce("one", "persistent://a/ns/p", [], policies).IsAllowed);
        Assert.True(Authorizer.CanProduce("all", "persistent://a/ns/p-partition-2", [], policies).IsAllowed);
        // Not a partition: the suffix must be -partition-N with N digits.
        Assert.False(Authorizer.CanProduce("all", "persistent://a/ns/p-partition-x", [], policies).IsAllowed);
    }

    [Fact]
    public void An_empty_subscription_role_list_restricts_nothing()
    {
        var policies = Policies with
        {
            SubscriptionAuthRoles = new Dictionary<string, IReadOnlyList<string>> { ["open"] = [] },
        };
        Assert.True(Authorizer.CanConsume("consumer", T1, "open", AdminsOfA, policies).IsAllowed);
    }

    [Fact]
    public void Super_users_are_tenant_admins_of_every_tenant_and_blank_super_user_roles_are_ignored()
    {
        var authorizer = new Authorizer(["root", "", "  "]);
        Assert.True(authorizer.IsTenantAdmin("root", "anything", []).IsAllowed);
        Assert.False(authorizer.IsSuperUser(""));
        Assert.False(authorizer.IsSuperUser(null));
        Assert.Equal(["root"], authorizer.SuperUserRoles);
    }

    [Fact]
    public void A_topic_that_is_not_a_full_name_is_a_programming_error()
        => Assert.Throws<ArgumentException>(() => Authorizer.CanProduce("root", "a/ns/t1", [], null));
}
