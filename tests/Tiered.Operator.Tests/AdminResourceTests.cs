using System.Net;
using System.Text.Json.Nodes;
using k8s;
using Tiered.Operator.Tests.ApiServerDouble;
using Tiered.Testing;

namespace Tiered.Operator.Tests;

/// <summary>
/// TieredTenant, TieredNamespace and TieredTopic reconciled by the operator through the admin API of a real
/// <c>tiered standalone</c> (the TieredCluster they reference lives in the double; its admin URL is the standalone's).
/// </summary>
public sealed class AdminResourceTests
{
    private static void Create(OperatorHarness h, string plural, object resource) =>
        h.Api.Create(plural, OperatorHarness.Ns, JsonNode.Parse(KubernetesJson.Serialize(resource))!.AsObject());

    private static string? ReadyReason(OperatorHarness h, string plural, string name) =>
        h.Api.Get(plural, OperatorHarness.Ns, name)?["status"]?["conditions"]?.AsArray().FirstOrDefault(c => c.Str("type") == "Ready") is { } c
            && c.Str("status") == "True" ? "True" : h.Api.Get(plural, OperatorHarness.Ns, name)?["status"]?["conditions"]?[0].Str("reason");

    [Fact]
    public async Task Tenants_namespaces_and_topics_are_created_corrected_and_deleted_through_the_admin_api()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        await using var h = await OperatorHarness.StartAsync(withOperator: false);
        h.AdminApi = new Uri(standalone.AdminUrl + "/");
        h.StartOperator("operator-a");
        using var http = new HttpClient { BaseAddress = new Uri(standalone.AdminUrl + "/admin/v2/") };

        // The cluster's name among its peers is "standalone", so the tenant is allowed there by default.
        h.Create(OperatorHarness.Cluster("sa", s => s.GeoReplication = new GeoReplicationSpec { ClusterName = "standalone" }));
        Create(h, TieredTenant.Plural, new TieredTenant { Metadata = new() { Name = "acme" }, Spec = new TenantSpec { ClusterRef = "sa", AdminRoles = ["ops"] } });
        Create(h, TieredNamespace.Plural, new TieredNamespace
        {
            Metadata = new() { Name = "orders" },
            Spec = new NamespaceSpec
            {
                ClusterRef = "sa", Tenant = "acme", Bundles = 8,
                Policies = new Dictionary<string, JsonNode>
                {
                    ["retention"] = new JsonObject { ["retentionTimeInMinutes"] = 60, ["retentionSizeInMB"] = 100 },
                    ["messageTTL"] = 3600,
                    ["deduplication"] = true,
                    ["backlogQuota"] = new JsonObject { ["destination_storage"] = new JsonObject { ["limitSize"] = 10485760, ["policy"] = "producer_request_hold" } },
                },
                Permissions = new Dictionary<string, IList<string>> { ["app"] = ["produce", "consume"], ["reader"] = ["consume"] },
            },
        });
        Create(h, TieredTopic.Plural, new TieredTopic { Metadata = new() { Name = "created" }, Spec = new TopicSpec { ClusterRef = "sa", Tenant = "acme", Namespace = "orders", Partitions = 3 } });
        Create(h, TieredTopic.Plural, new TieredTopic { Metadata = new() { Name = "audit-log" }, Spec = new TopicSpec { ClusterRef = "sa", Tenant = "acme", Namespace = "orders", Name = "audit" } });
        Create(h, TieredTopic.Plural, new TieredTopic { Metadata = new() { Name = "lost" }, Spec = new TopicSpec { ClusterRef = "nowhere", Tenant = "acme", Namespace = "orders" } });

        foreach (var (plural, name) in new[] { (TieredTenant.Plural, "acme"), (TieredNamespace.Plural, "orders"), (TieredTopic.Plural, "created"), (TieredTopic.Plural, "audit-log") })
        {
            try
            {
                await h.Api.WaitUntilAsync(() => ReadyReason(h, plural, name) == "True", $"{plural}/{name} Ready", TimeSpan.FromSeconds(30));
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message}; its status: {h.Api.Get(plural, OperatorHarness.Ns, name)?["status"]?.ToJsonString()}", e);
            }
        }
        await h.Api.WaitUntilAsync(() => ReadyReason(h, TieredTopic.Plural, "lost") == "ClusterNotFound", "the topic naming no cluster is Degraded");

        var tenant = JsonNode.Parse(await http.GetStringAsync("tenants/acme"))!;
        Assert.Equal("ops", tenant["adminRoles"]![0]!.GetValue<string>());
        Assert.Equal(8, JsonNode.Parse(await http.GetStringAsync("namespaces/acme/orders/bundles"))!["numBundles"]!.GetValue<int>());
        var retention = JsonNode.Parse(await http.GetStringAsync("namespaces/acme/orders/retention"))!;
        Assert.Equal((60, 100), (retention["retentionTimeInMinutes"]!.GetValue<int>(), retention["retentionSizeInMB"]!.GetValue<int>()));
        Assert.Equal("3600", await http.GetStringAsync("namespaces/acme/orders/messageTTL"));
        Assert.Equal("true", await http.GetStringAsync("namespaces/acme/orders/deduplication"));
        var quota = JsonNode.Parse(await http.GetStringAsync("namespaces/acme/orders/backlogQuotaMap"))!["destination_storage"]!;
        Assert.Equal((10485760L, "producer_request_hold"), (quota["limitSize"]!.GetValue<long>(), quota["policy"]!.GetValue<string>()));
        var permissions = JsonNode.Parse(await http.GetStringAsync("namespaces/acme/orders/permissions"))!.AsObject();
        Assert.Equal(["app", "reader"], permissions.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(3, JsonNode.Parse(await http.GetStringAsync("persistent/acme/orders/created/partitions"))!["partitions"]!.GetValue<int>());
        Assert.Contains("persistent://acme/orders/audit", await http.GetStringAsync("persistent/acme/orders"), StringComparison.Ordinal);

        // Corrected as the spec changes: more partitions, other admin roles, another TTL, a role's grant revoked; and a
        // grant made by hand outside the spec is taken back.
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("namespaces/acme/orders/permissions/intruder", new StringContent("[\"produce\"]", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        h.Api.Mutate(TieredTopic.Plural, OperatorHarness.Ns, "created", o => o["spec"]!["partitions"] = 5);
        h.Api.Mutate(TieredTenant.Plural, OperatorHarness.Ns, "acme", o => o["spec"]!["adminRoles"] = new JsonArray("ops", "audit"));
        h.Api.Mutate(TieredNamespace.Plural, OperatorHarness.Ns, "orders", o =>
        {
            o["spec"]!["policies"]!["messageTTL"] = 60;
            o["spec"]!["policies"]!["backlogQuota"] = new JsonObject { ["message_age"] = new JsonObject { ["limitTime"] = 3600, ["policy"] = "consumer_backlog_eviction" } };
            o["spec"]!["permissions"] = new JsonObject { ["app"] = new JsonArray("produce") };
        });
        await h.Api.WaitUntilAsync(() => h.Api.Get(TieredTopic.Plural, OperatorHarness.Ns, "created")!["status"]?["observedGeneration"]?.AsLong() == 2
            && h.Api.Get(TieredTenant.Plural, OperatorHarness.Ns, "acme")!["status"]?["observedGeneration"]?.AsLong() == 2
            && h.Api.Get(TieredNamespace.Plural, OperatorHarness.Ns, "orders")!["status"]?["observedGeneration"]?.AsLong() == 2, "the changes applied");
        Assert.Equal("60", await http.GetStringAsync("namespaces/acme/orders/messageTTL"));
        var quotas = JsonNode.Parse(await http.GetStringAsync("namespaces/acme/orders/backlogQuotaMap"))!;
        Assert.Equal(3600, quotas["message_age"]!["limitTime"]!.GetValue<long>());
        Assert.Equal("producer_request_hold", quotas["destination_storage"]!["policy"]!.GetValue<string>());
        permissions = JsonNode.Parse(await http.GetStringAsync("namespaces/acme/orders/permissions"))!.AsObject();
        Assert.Equal(["app"], permissions.Select(p => p.Key));
        Assert.Equal(["produce"], permissions["app"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal(5, JsonNode.Parse(await http.GetStringAsync("persistent/acme/orders/created/partitions"))!["partitions"]!.GetValue<int>());
        Assert.Equal(2, JsonNode.Parse(await http.GetStringAsync("tenants/acme"))!["adminRoles"]!.AsArray().Count);

        // Shrinking is refused by Tiered; the status says so and nothing changes.
        h.Api.Mutate(TieredTopic.Plural, OperatorHarness.Ns, "created", o => o["spec"]!["partitions"] = 2);
        await h.Api.WaitUntilAsync(() => ReadyReason(h, TieredTopic.Plural, "created") == "AdminApiRefused", "shrinking refused");
        Assert.Equal(5, JsonNode.Parse(await http.GetStringAsync("persistent/acme/orders/created/partitions"))!["partitions"]!.GetValue<int>());
        h.Api.Mutate(TieredTopic.Plural, OperatorHarness.Ns, "created", o => o["spec"]!["partitions"] = 5);

        // Deleting the tenant first: the admin API refuses while it has a namespace; the finalizer holds the object.
        h.Api.Delete(TieredTenant.Plural, OperatorHarness.Ns, "acme");
        await h.Api.WaitUntilAsync(() => ReadyReason(h, TieredTenant.Plural, "acme") == "DeleteRefused", "tenant deletion refused while it has namespaces");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("tenants/acme")).StatusCode);
        // Topics, then the namespace: everything goes, the tenant last.
        h.Api.Delete(TieredTopic.Plural, OperatorHarness.Ns, "created");
        h.Api.Delete(TieredTopic.Plural, OperatorHarness.Ns, "audit-log");
        h.Api.Delete(TieredNamespace.Plural, OperatorHarness.Ns, "orders");
        await h.Api.WaitUntilAsync(() => h.Api.Get(TieredTenant.Plural, OperatorHarness.Ns, "acme") is null
            && h.Api.Get(TieredNamespace.Plural, OperatorHarness.Ns, "orders") is null, "the namespace and then the tenant deleted", TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("tenants/acme")).StatusCode);
    }
}
