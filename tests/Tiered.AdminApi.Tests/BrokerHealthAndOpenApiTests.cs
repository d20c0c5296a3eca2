using System.Net;
using System.Text.Json;

namespace Tiered.AdminApi.Tests;

public sealed class BrokerHealthAndOpenApiTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task Health_answers_ok_when_ready_and_503_when_not()
    {
        server.Ready = true;
        var ready = await Http.GetAsync("/admin/v2/brokers/health");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ok", await ready.Content.ReadAsStringAsync());

        server.Ready = false;
        try
        {
            Assert.Contains("not ready", await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/brokers/health"), HttpStatusCode.ServiceUnavailable));
        }
        finally
        {
            server.Ready = true;
        }
    }

    [Fact]
    public async Task The_openapi_document_describes_every_admin_endpoint()
    {
        var response = await Http.GetAsync("/admin/v2/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("3.1", document.RootElement.GetProperty("openapi").GetString());
        var paths = document.RootElement.GetProperty("paths");
        string[] expected =
        [
            "/admin/v2/clusters", "/admin/v2/clusters/{cluster}",
            "/admin/v2/tenants", "/admin/v2/tenants/{tenant}",
            "/admin/v2/namespaces/{tenant}", "/admin/v2/namespaces/{tenant}/{namespace}",
            "/admin/v2/namespaces/{tenant}/{namespace}/retention", "/admin/v2/namespaces/{tenant}/{namespace}/messageTTL",
            "/admin/v2/namespaces/{tenant}/{namespace}/autoTopicCreation",
            "/admin/v2/namespaces/{tenant}/{namespace}/backlogQuota", "/admin/v2/namespaces/{tenant}/{namespace}/backlogQuotaMap",
            "/admin/v2/persistent/{tenant}/{namespace}", "/admin/v2/persistent/{tenant}/{namespace}/partitioned",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/partitions",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}/stats", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/internalStats",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscriptions",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscription/{subscription}",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscription/{subscription}/resetcursor/{timestamp}",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscription/{subscription}/resetcursor",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscription/{subscription}/skip/{numMessages}",
            "/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscription/{subscription}/skip_all",
            "/admin/v2/brokers/health",
        ];
        foreach (var path in expected)
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is missing from the OpenAPI document");
        Assert.True(paths.GetProperty("/admin/v2/tenants/{tenant}").TryGetProperty("put", out var put));
        Assert.True(put.TryGetProperty("requestBody", out _));
    }
}
