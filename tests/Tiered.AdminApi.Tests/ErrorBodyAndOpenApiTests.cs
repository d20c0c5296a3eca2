using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>What every refusal looks like to pulsar-admin-style tools, and the OpenAPI document's completeness.</summary>
public sealed class ErrorBodyAndOpenApiTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task A_refusal_carries_pulsars_reason_field_next_to_the_problem_detail()
    {
        var response = await Http.GetAsync("/admin/v2/namespaces/public/nope");
        var detail = await Expect.ProblemAsync(response, HttpStatusCode.NotFound);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(detail, body.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_path_the_api_does_not_have_answers_404_saying_so_not_an_empty_body()
    {
        var response = await Http.GetAsync("/admin/v2/no-such-thing/at/all");
        var detail = await Expect.ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("no endpoint GET /admin/v2/no-such-thing/at/all", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("amespace", detail, StringComparison.Ordinal);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(detail, body.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_method_a_path_does_not_take_answers_405_with_the_allowed_methods_and_a_body()
    {
        var ns = await server.NewNamespaceAsync();
        var response = await Http.PatchAsync($"/admin/v2/namespaces/{ns}/retention", Json("{}"));
        var detail = await Expect.ProblemAsync(response, HttpStatusCode.MethodNotAllowed);
        Assert.Contains("PATCH is not supported", detail, StringComparison.Ordinal);
        Assert.Equal(["DELETE", "GET", "POST", "PUT"], response.Content.Headers.Allow.Order(StringComparer.Ordinal));
        Assert.DoesNotContain("retention", await server.StoredAsync($"/admin/policies/{ns}"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("messageTTL", "\"soon\"", "the value at $ is not an integer from")]
    [InlineData("messageTTL", "99999999999", "the value at $ is not an integer from -2147483648 to 2147483647")]
    [InlineData("retention", "{\"retentionTimeInMinutes\":\"x\",\"retentionSizeInMB\":1}", "the value at $.retentionTimeInMinutes is not an integer")]
    [InlineData("retention", "{\"retentionTimeInMinutes\":1}", "required properties are missing")]
    [InlineData("retention", "[1,2]", "expected an object {\"retentionTimeInMinutes\": …, \"retentionSizeInMB\": …}")]
    public async Task A_body_of_the_wrong_shape_is_explained_in_json_terms_without_dotnet_type_names(string policy, string body, string expected)
    {
        var ns = await server.NewNamespaceAsync();
        var detail = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/{policy}", Json(body)), HttpStatusCode.BadRequest);
        Assert.True(detail.Contains(expected, StringComparison.Ordinal), detail);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Tiered.", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("`1", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("RetentionPolicies", detail, StringComparison.Ordinal);
        Assert.Equal(CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
    }

    [Fact]
    public async Task A_retention_size_too_large_to_count_in_bytes_is_refused_and_nothing_is_stored()
    {
        var ns = await server.NewNamespaceAsync();
        var detail = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention",
            Json("""{"retentionTimeInMinutes":-1,"retentionSizeInMB":17592186044416}""")), HttpStatusCode.BadRequest);
        Assert.Contains("at most 8796093022207", detail, StringComparison.Ordinal);
        var tenant = await server.NewTenantAsync();
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/big",
            Json("""{"retention_policies":{"retentionTimeInMinutes":-1,"retentionSizeInMB":9223372036854775807}}""")), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/offloadDeletionLag", Json("9223372036854775807")), HttpStatusCode.BadRequest);
        Assert.Equal(CreatedPolicies, await server.StoredAsync($"/admin/policies/{ns}"));
        Assert.Null(await server.StoredAsync($"/admin/policies/{tenant}/big"));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":-1,"retentionSizeInMB":8796093022207}""")));
    }

    [Fact]
    public async Task The_openapi_document_has_every_mapped_route_with_its_methods()
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync("/admin/v2/openapi.json"));
        var paths = document.RootElement.GetProperty("paths");
        var routes = server.MappedRoutes
            .Where(e => e.RoutePattern.RawText!.StartsWith("/admin/v2", StringComparison.Ordinal)
                && e.RoutePattern.RawText != "/admin/v2/openapi.json"
                && !e.RoutePattern.RawText.Contains("{**", StringComparison.Ordinal))
            .ToList();
        Assert.True(routes.Count > 40, $"only {routes.Count} admin routes found");
        var missing = new List<string>();
        foreach (var route in routes)
        {
            var path = route.RoutePattern.RawText!.TrimEnd('/');
            foreach (var method in route.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                if (!paths.TryGetProperty(path, out var operations) || !operations.TryGetProperty(method.ToLowerInvariant(), out _))
                    missing.Add($"{method} {path}");
            }
        }
        Assert.True(missing.Count == 0, "missing from the OpenAPI document: " + string.Join(", ", missing));
    }
}
