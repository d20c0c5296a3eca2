using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tiered.Metadata;
using Tiered.Testing;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// The admin API in a real Kestrel server on 127.0.0.1, over a real single-node metadata service
/// seeded as `tiered standalone` seeds it, with <see cref="RecordingTopicAdmin"/> for the broker.
/// One per test class; tests keep apart by using tenants of their own.
/// </summary>
public sealed class AdminApiServer : IAsyncLifetime
{
    private LocalMetadata? _metadata;
    private WebApplication? _app;

    public HttpClient Http { get; private set; } = null!;

    public IMetadataStore Store => _metadata!.Store;

    internal RecordingTopicAdmin Topics { get; } = new();

    internal RecordingOwnershipGate Ownership { get; } = new();

    public bool Ready { get; set; } = true;

    public async Task InitializeAsync()
    {
        _metadata = await LocalMetadata.StartAsync();
        // What StandaloneCommand writes: keep the admin API compatible with it.
        await Store.PutAsync("/admin/clusters/standalone", """{"serviceUrl":"http://127.0.0.1:6650","brokerServiceUrl":"http://127.0.0.1:6650"}"""u8.ToArray());
        await Store.PutAsync("/admin/tenants/public", """{"adminRoles":[],"allowedClusters":["standalone"]}"""u8.ToArray());
        await Store.PutAsync("/admin/policies/public/default", """{"replication_clusters":["standalone"]}"""u8.ToArray());

        var port = LocalMetadata.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        builder.Services.AddTieredAdmin(new AdminApiOptions { ClusterName = "standalone" });
        builder.Services.AddSingleton<Tiered.Ledger.IBookieInfoReader>(new UnaskedBookies());
        _app = builder.Build();
        _app.MapTieredAdmin(Store, Topics, () => Ready, Ownership);
        await _app.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        if (_metadata is not null)
            await _metadata.DisposeAsync();
    }

    /// <summary>Every endpoint the host mapped (the admin API's and any other), as routing sees them.</summary>
    public IReadOnlyList<Microsoft.AspNetCore.Routing.RouteEndpoint> MappedRoutes
        => [.. ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)_app!).DataSources.SelectMany(d => d.Endpoints).OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()];

    /// <summary>The raw stored value of <paramref name="key"/> (null when absent), to check what a request left behind.</summary>
    public async Task<string?> StoredAsync(string key)
        => await Store.GetAsync(key) is { } kv ? kv.Value.ToStringUtf8() : null;

    /// <summary>A fresh tenant allowed on "standalone".</summary>
    public async Task<string> NewTenantAsync()
    {
        var tenant = "t-" + Guid.NewGuid().ToString("N")[..10];
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/tenants/{tenant}", Json("""{"adminRoles":["ops"],"allowedClusters":["standalone"]}""")));
        return tenant;
    }

    /// <summary>A fresh namespace "tenant/ns" in a fresh tenant.</summary>
    public async Task<string> NewNamespaceAsync()
    {
        var tenant = await NewTenantAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{tenant}/ns", null));
        return $"{tenant}/ns";
    }

    /// <summary>What a namespace created without a body stores: the local cluster, and 4 bundles of equal width.</summary>
    public const string CreatedPolicies
        = """{"replication_clusters":["standalone"],"bundles":{"boundaries":["0x00000000","0x40000000","0x80000000","0xc0000000","0xffffffff"],"numBundles":4}}""";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static JsonContent Json<T>(T value) => JsonContent.Create(value);
}

/// <summary>Assertions on responses: status codes and RFC 7807 problem details.</summary>
public static class Expect
{
    public static async Task NoContentAsync(HttpResponseMessage response)
        => Assert.True(response.StatusCode == HttpStatusCode.NoContent, $"Expected 204, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");

    public static async Task<JsonElement> OkAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Checks a problem+json answer (type, title, status, detail) and returns its detail.</summary>
    public static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.StartsWith("urn:tiered:problem:", problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        var detail = problem.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail!;
    }

    public static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];
}
