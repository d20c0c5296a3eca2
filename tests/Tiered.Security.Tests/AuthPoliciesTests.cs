using System.Text.Json;
using Tiered.Security.Authorization;

namespace Tiered.Security.Tests;

public sealed class AuthPoliciesTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void Empty_policies_are_written_as_pulsars_three_empty_maps()
        => Assert.Equal("""{"namespace_auth":{},"destination_auth":{},"subscription_auth_roles":{}}""", JsonSerializer.Serialize(AuthPolicies.Empty, Web));

    [Fact]
    public void Pulsars_json_reads_back_and_writes_the_same()
    {
        const string json = """{"namespace_auth":{"app":["consume","produce"]},"destination_auth":{"persistent://a/ns/t":{"reader":["consume"]}},"subscription_auth_roles":{"s":["app"]}}""";
        var policies = JsonSerializer.Deserialize<AuthPolicies>(json, Web)!;
        Assert.Equal(["consume", "produce"], policies.NamespaceAuth["app"]);
        Assert.Equal(["consume"], policies.DestinationAuth["persistent://a/ns/t"]["reader"]);
        Assert.Equal(["app"], policies.SubscriptionAuthRoles["s"]);
        Assert.Equal(json, JsonSerializer.Serialize(policies, Web));
    }

    [Fact]
    public void A_grant_replaces_the_roles_actions_and_changes_return_new_policies()
    {
        var first = AuthPolicies.Empty.WithNamespaceGrant("app", ["produce", "consume", "produce"]);
        Assert.Equal(["consume", "produce"], first.NamespaceAuth["app"]);
        var second = first.WithNamespaceGrant("app", ["consume"]);
        Assert.Equal(["consume"], second.NamespaceAuth["app"]);
        Assert.Equal(["consume", "produce"], first.NamespaceAuth["app"]);
        Assert.True(AuthPolicies.Empty.IsEmpty);
        Assert.True(second.WithoutNamespaceGrant("app").IsEmpty);
        Assert.Equal(["consume"], Assert.Single(second.WithoutNamespaceGrant("nobody").NamespaceAuth).Value);
    }

    [Fact]
    public void Topic_and_subscription_entries_left_empty_are_dropped()
    {
        var policies = AuthPolicies.Empty.WithTopicGrant("persistent://a/ns/t", "r", ["consume"]).WithSubscriptionRoles("s", ["r", "q"]);
        policies = policies.WithoutTopicGrant("persistent://a/ns/t", "r").WithoutSubscriptionRole("s", "r");
        Assert.Empty(policies.DestinationAuth);
        Assert.Equal(["q"], policies.SubscriptionAuthRoles["s"]);
        Assert.True(policies.WithoutSubscriptionRole("s", "q").IsEmpty);
        Assert.True(policies.WithoutSubscriptionRoles("s").IsEmpty);
    }

    [Fact]
    public void The_permissions_on_a_topic_unite_the_namespaces_the_topics_and_its_partitioned_topics()
    {
        var policies = AuthPolicies.Empty
            .WithNamespaceGrant("app", ["produce"])
            .WithTopicGrant("persistent://a/ns/p", "app", ["consume"])
            .WithTopicGrant("persistent://a/ns/p", "reader", ["consume"])
            .WithTopicGrant("persistent://a/ns/p-partition-0", "one", ["produce"])
            .WithTopicGrant("persistent://a/ns/other", "elsewhere", ["produce"]);
        var onPartition = policies.PermissionsOn("persistent://a/ns/p-partition-0");
        Assert.Equal(["consume", "produce"], onPartition["app"]);
        Assert.Equal(["consume"], onPartition["reader"]);
        Assert.Equal(["produce"], onPartition["one"]);
        Assert.False(onPartition.ContainsKey("elsewhere"));
        Assert.False(policies.PermissionsOn("persistent://a/ns/p").ContainsKey("one"));
    }

    [Theory]
    [InlineData("persistent://a/ns/t", "persistent://a/ns/t")]
    [InlineData("persistent://a/ns/t-partition-12", "persistent://a/ns/t")]
    [InlineData("persistent://a/ns/t-partition-", "persistent://a/ns/t-partition-")]
    [InlineData("persistent://a/ns/t-partition--1", "persistent://a/ns/t-partition--1")]
    [InlineData("persistent://a/ns/t-partition-1-partition-2", "persistent://a/ns/t-partition-1")]
    public void A_partitions_grants_are_looked_up_under_its_partitioned_topic(string topic, string partitioned)
        => Assert.Equal(partitioned, AuthTopic.PartitionedTopicOf(topic));

    [Theory]
    [InlineData("app", true)]
    [InlineData("CN=client,O=example", true)]
    [InlineData("", false)]
    [InlineData("   ", false)]
    [InlineData(" app", false)]
    [InlineData("app\n", false)]
    [InlineData("a\u0001b", false)]
    public void Role_names(string role, bool valid) => Assert.Equal(valid, AuthNames.IsValidRole(role));

    [Fact]
    public void Nulls_in_a_hand_written_record_read_as_no_grants()
    {
        var policies = JsonSerializer.Deserialize<AuthPolicies>("""{"namespace_auth":null,"destination_auth":{"persistent://a/ns/t":{"r":null}},"subscription_auth_roles":{"s":null}}""", Web)!;
        Assert.Empty(policies.NamespaceAuth);
        Assert.False(policies.Grants("r", "consume", "persistent://a/ns/t"));
        Assert.Empty(policies.SubscriptionRoles("s"));
        Assert.Empty(policies.PermissionsOn("persistent://a/ns/t")["r"]);
        Assert.True(new Authorizer([]).CanConsume("r", "persistent://a/ns/t", "s", [], policies) is { IsAllowed: false, MissingAction: "consume" });
    }
}
