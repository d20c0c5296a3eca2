using System.Net;
using System.Text.Json;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// Namespace, topic and subscription permissions (Pulsar's auth_policies) through the admin API over a real metadata
/// service: what is stored, what is read back, and that every refusal leaves the stored policies as they were.
/// </summary>
public sealed class PermissionEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    private static Dictionary<string, string[]> Map(JsonElement json)
        => json.EnumerateObject().ToDictionary(p => p.Name, p => Expect.Strings(p.Value));

    [Fact]
    public async Task A_namespace_grant_is_stored_in_auth_policies_read_back_and_revoked()
    {
        var ns = await server.NewNamespaceAsync();
        var fresh = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"));
        Assert.Equal("""{"namespace_auth":{},"destination_auth":{},"subscription_auth_roles":{}}""", fresh.GetProperty("auth_policies").GetRawText());
        Assert.Empty(Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions"))));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/app", Json("""["produce","consume"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/reader", Json("""["consume"]""")));
        var permissions = Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions")));
        Assert.Equal(["consume", "produce"], permissions["app"]);
        Assert.Equal(["consume"], permissions["reader"]);
        Assert.Equal(["consume", "produce"], Expect.Strings((await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}")))
            .GetProperty("auth_policies").GetProperty("namespace_auth").GetProperty("app")));
        Assert.Contains("\"auth_policies\":{\"namespace_auth\":{\"app\":[\"consume\",\"produce\"],\"reader\":[\"consume\"]}", await server.StoredAsync($"/admin/policies/{ns}"));

        // A grant replaces the role's actions, as Pulsar's.
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/app", Json("""["produce"]""")));
        Assert.Equal(["produce"], Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions")))["app"]);

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/permissions/app"));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/permissions/reader"));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/permissions/never-granted"));
        Assert.Empty(Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions"))));
        Assert.Equal(CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Theory]
    [InlineData("/permissions/app", """["functions"]""", HttpStatusCode.BadRequest, "Unsupported action 'functions': Tiered grants only produce, consume")]
    [InlineData("/permissions/app", """["produce","sinks"]""", HttpStatusCode.BadRequest, "'sinks'")]
    [InlineData("/permissions/app", """["Produce"]""", HttpStatusCode.BadRequest, "'Produce'")]
    [InlineData("/permissions/app", """[]""", HttpStatusCode.BadRequest, "at least one action")]
    [InlineData("/permissions/app", """[null]""", HttpStatusCode.BadRequest, "Unsupported action (none)")]
    [InlineData("/permissions/app", """["produce",""", HttpStatusCode.BadRequest, "Invalid JSON")]
    [InlineData("/permissions/app", """{"app":["produce"]}""", HttpStatusCode.BadRequest, "expected an array")]
    [InlineData("/permissions/app", "", HttpStatusCode.BadRequest, "is required")]
    [InlineData("/permissions/%20app", """["produce"]""", HttpStatusCode.BadRequest, "Invalid role ' app': a role name must not start or end with blanks")]
    [InlineData("/permissions/%20", """["produce"]""", HttpStatusCode.BadRequest, "must not be empty")]
    [InlineData("/permissions/subscription/s", """[]""", HttpStatusCode.BadRequest, "at least one role")]
    [InlineData("/permissions/subscription/s", """["ok",""]""", HttpStatusCode.BadRequest, "Invalid role ''")]
    [InlineData("/permissions/subscription/s", """"app"""", HttpStatusCode.BadRequest, "expected an array")]
    public async Task A_bad_grant_is_refused_with_the_reason_and_changes_nothing(string path, string body, HttpStatusCode status, string reason)
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/app", Json("""["consume"]""")));
        var before = await server.StoredAsync($"/admin/policies/{ns}");

        var detail = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}{path}", Json(body)), status);
        Assert.Contains(reason, detail, StringComparison.Ordinal);
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task Permissions_of_an_unknown_tenant_or_namespace_or_a_malformed_name_answer_4xx_and_store_nothing()
    {
        var tenant = await server.NewTenantAsync();
        Assert.Contains($"Namespace {tenant}/nope does not exist", await Expect.ProblemAsync(
            await Http.PostAsync($"/admin/v2/namespaces/{tenant}/nope/permissions/app", Json("""["produce"]""")), HttpStatusCode.NotFound));
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/namespaces/{tenant}/nope/permissions"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{tenant}/nope/permissions/app"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{tenant}/nope/permissions/subscription/s", Json("""["app"]""")), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{tenant}/nope/t/permissions/app", Json("""["produce"]""")), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{tenant}/nope/t/permissions"), HttpStatusCode.NotFound);
        Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/nope"));

        Assert.Contains("Tenant ghost-tenant does not exist", await Expect.ProblemAsync(
            await Http.PostAsync("/admin/v2/namespaces/ghost-tenant/ns/permissions/app", Json("""["produce"]""")), HttpStatusCode.NotFound));
        Assert.Contains("Tenant ghost-tenant does not exist", await Expect.ProblemAsync(
            await Http.GetAsync("/admin/v2/namespaces/ghost-tenant/ns/permissions"), HttpStatusCode.NotFound));
        Assert.Null(await server.StoredAsync("/admin/policies/ghost-tenant/ns"));

        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{tenant}/bad%20name/permissions/app", Json("""["produce"]""")), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{tenant}/ns/bad%2Fname/permissions/app", Json("""["produce"]""")), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_topic_grant_is_kept_under_the_full_topic_name_and_merged_with_the_namespaces_grants()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/app", Json("""["produce"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/permissions/app", Json("""["consume"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/t/permissions/reader", Json("""["consume"]""")));

        var onTopic = Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/t/permissions")));
        Assert.Equal(["consume", "produce"], onTopic["app"]);
        Assert.Equal(["consume"], onTopic["reader"]);
        Assert.Equal(["app"], Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/other/permissions"))).Keys);
        Assert.Equal(["app"], Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions"))).Keys);
        var destination = (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"))).GetProperty("auth_policies").GetProperty("destination_auth");
        Assert.Equal(["consume"], Expect.Strings(destination.GetProperty($"persistent://{ns}/t").GetProperty("reader")));

        // Revoking on the topic takes the topic's grant only; a role with none on the topic itself is refused, as Pulsar.
        var before = await server.StoredAsync($"/admin/policies/{ns}");
        Assert.Contains("no permissions set on topic", await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/other/permissions/app"), HttpStatusCode.PreconditionFailed));
        Assert.Equal(before, await server.StoredAsync($"/admin/policies/{ns}"));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/t/permissions/app"));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/t/permissions/reader"));
        Assert.Equal(["produce"], Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/t/permissions")))["app"]);
        Assert.DoesNotContain("destination_auth\":{\"", await server.StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_grant_on_a_partitioned_topic_applies_to_its_partitions()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/p/permissions/app", Json("""["produce"]""")));
        Assert.Equal(["produce"], Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/p-partition-2/permissions")))["app"]);
        Assert.Empty(Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/q-partition-2/permissions"))));
    }

    [Fact]
    public async Task A_subscription_is_restricted_to_roles_read_back_narrowed_and_opened_again()
    {
        var ns = await server.NewNamespaceAsync();
        Assert.Empty(Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions/subscription"))));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/subscription/orders", Json("""["billing","audit"]""")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/subscription/other", Json("""["x"]""")));
        var restricted = Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions/subscription")));
        Assert.Equal(["audit", "billing"], restricted["orders"]);
        Assert.Equal(["audit", "billing"], Expect.Strings((await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}")))
            .GetProperty("auth_policies").GetProperty("subscription_auth_roles").GetProperty("orders")));

        // Pulsar's DELETE …/permissions/{subscription}/{role} takes one role off.
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/permissions/orders/audit"));
        Assert.Equal(["billing"], Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions/subscription")))["orders"]);

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/permissions/subscription/orders"));
        Assert.Equal(["other"], Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions/subscription"))).Keys);
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/permissions/other/x"));
        Assert.Empty(Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/permissions/subscription"))));
        Assert.Equal(CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task Concurrent_grants_for_different_roles_are_all_kept()
    {
        for (var round = 0; round < 5; round++)
        {
            var ns = await server.NewNamespaceAsync();
            var responses = await Task.WhenAll(
                Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/first", Json("""["produce"]""")),
                Http.PostAsync($"/admin/v2/namespaces/{ns}/permissions/second", Json("""["consume"]""")),
                Http.PostAsync($"/admin/v2/persistent/{ns}/t/permissions/third", Json("""["consume"]""")),
                Http.PostAsync($"/admin/v2/namespaces/{ns}/messageTTL", Json("60")));
            foreach (var response in responses)
                await Expect.NoContentAsync(response);

            var permissions = Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/t/permissions")));
            Assert.Equal(["produce"], permissions["first"]);
            Assert.Equal(["consume"], permissions["second"]);
            Assert.Equal(["consume"], permissions["third"]);
            Assert.Equal(60, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/messageTTL"))).GetInt32());
        }
    }

    [Fact]
    public async Task A_namespace_may_be_created_with_auth_policies_and_bad_ones_create_nothing()
    {
        var tenant = await server.NewTenantAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/granted",
            Json("""{"auth_policies":{"namespace_auth":{"app":["produce"]},"destination_auth":{"persistent://TENANT/granted/t":{"r":["consume"]}},"subscription_auth_roles":{"s":["r"]}}}""".Replace("TENANT", tenant, StringComparison.Ordinal))));
        var topic = Map(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{tenant}/granted/t/permissions")));
        Assert.Equal(["produce"], topic["app"]);
        Assert.Equal(["consume"], topic["r"]);

        Assert.Contains("'functions'", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/bad1",
            Json("""{"auth_policies":{"namespace_auth":{"app":["functions"]}}}""")), HttpStatusCode.BadRequest));
        Assert.Contains("in namespace", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/bad2",
            Json("""{"auth_policies":{"destination_auth":{"persistent://public/default/t":{"r":["consume"]}}}}""")), HttpStatusCode.BadRequest));
        Assert.Contains("Invalid role", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/bad3",
            Json("""{"auth_policies":{"subscription_auth_roles":{"s":[""]}}}""")), HttpStatusCode.BadRequest));
        foreach (var bad in (string[])["bad1", "bad2", "bad3"])
            Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/{bad}"));
    }

    [Fact]
    public async Task The_openapi_document_has_the_permission_endpoints()
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync("/admin/v2/openapi.json"));
        var paths = document.RootElement.GetProperty("paths");
        (string Path, string[] Methods)[] expected =
        [
            ("/admin/v2/namespaces/{tenant}/{namespace}/permissions", ["get"]),
            ("/admin/v2/namespaces/{tenant}/{namespace}/permissions/{role}", ["post", "delete"]),
            ("/admin/v2/namespaces/{tenant}/{namespace}/permissions/subscription", ["get"]),
            ("/admin/v2/namespaces/{tenant}/{namespace}/permissions/subscription/{subscription}", ["post", "delete"]),
            ("/admin/v2/namespaces/{tenant}/{namespace}/permissions/{subscription}/{role}", ["delete"]),
            ("/admin/v2/persistent/{tenant}/{namespace}/{topic}/permissions", ["get"]),
            ("/admin/v2/persistent/{tenant}/{namespace}/{topic}/permissions/{role}", ["post", "delete"]),
        ];
        foreach (var (path, methods) in expected)
        {
            Assert.True(paths.TryGetProperty(path, out var operations), $"{path} is missing from the OpenAPI document");
            foreach (var method in methods)
            {
                Assert.True(operations.TryGetProperty(method, out var operation), $"{method} {path} is missing");
                Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()));
            }
        }
        Assert.True(paths.GetProperty("/admin/v2/namespaces/{tenant}/{namespace}/permissions/{role}").GetProperty("post").TryGetProperty("requestBody", out _));
    }
}
