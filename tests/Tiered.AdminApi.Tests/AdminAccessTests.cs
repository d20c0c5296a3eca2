using Tiered.AdminApi;

namespace Tiered.AdminApi.Tests;

/// <summary>Which rule guards each kind of admin endpoint (the real checks are tested against a running standalone in SecurityTests).</summary>
public sealed class AdminAccessTests
{
    [Theory]
    [InlineData("GET", "/admin/v2/clusters", "Authenticated")]
    [InlineData("GET", "/admin/v2/clusters/{cluster}", "Authenticated")]
    [InlineData("PUT", "/admin/v2/clusters/{cluster}", "SuperUser")]
    [InlineData("GET", "/admin/v2/tenants", "SuperUser")]
    [InlineData("GET", "/admin/v2/tenants/{tenant}", "TenantAdmin")]
    [InlineData("PUT", "/admin/v2/tenants/{tenant}", "SuperUser")]
    [InlineData("DELETE", "/admin/v2/tenants/{tenant}", "SuperUser")]
    [InlineData("GET", "/admin/v2/brokers/health", "SuperUser")]
    [InlineData("GET", "/admin/v2/bookies/all", "SuperUser")]
    [InlineData("GET", "/admin/v2/bookies/under-replicated", "SuperUser")]
    [InlineData("POST", "/admin/v2/bookies/{bookieId}/decommission", "SuperUser")]
    [InlineData("GET", "/admin/v2/bookies/{bookieId}/decommission", "SuperUser")]
    [InlineData("GET", "/admin/v2/namespaces/{tenant}", "TenantAdmin")]
    [InlineData("PUT", "/admin/v2/namespaces/{tenant}/{namespace}", "TenantAdmin")]
    [InlineData("POST", "/admin/v2/namespaces/{tenant}/{namespace}/permissions/{role}", "TenantAdmin")]
    [InlineData("GET", "/admin/v2/persistent/{tenant}/{namespace}", "TenantAdmin")]
    [InlineData("PUT", "/admin/v2/persistent/{tenant}/{namespace}/{topic}", "TenantAdmin")]
    [InlineData("DELETE", "/admin/v2/persistent/{tenant}/{namespace}/{topic}", "TenantAdmin")]
    [InlineData("GET", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/stats", "Consume")]
    [InlineData("GET", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/examinemessage", "Consume")]
    [InlineData("GET", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/permissions", "TenantAdmin")]
    [InlineData("GET", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/offload", "TenantAdmin")]
    [InlineData("GET", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/partitions", "Lookup")]
    [InlineData("PUT", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/partitions", "TenantAdmin")]
    [InlineData("POST", "/admin/v2/persistent/{tenant}/{namespace}/{topic}/subscription/{subscription}/skip_all", "Consume")]
    [InlineData("GET", "/lookup/v2/topic/{domain}/{tenant}/{namespace}/{topic}", "Lookup")]
    public void Each_endpoint_kind_has_its_rule(string method, string pattern, string expected)
        => Assert.Equal(expected, AdminAccess.Classify(method, pattern).ToString());
}
