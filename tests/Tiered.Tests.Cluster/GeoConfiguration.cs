using System.Net.Http.Headers;
using System.Net.Http.Json;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>How the geo-replication tests set up their clusters through the admin API, as an operator would.</summary>
internal static class GeoConfiguration
{
    /// <summary>The namespace the tests replicate.</summary>
    public const string Namespace = "public/geo";

    /// <summary>
    /// On <paramref name="local"/>: registers every remote cluster, lets the public tenant use them all, and replicates
    /// <see cref="Namespace"/> to them all; with <paramref name="token"/> (a super-user's) when the cluster checks tokens.
    /// </summary>
    public static async Task ConfigureAsync(Standalone local, string localName, string? token, params (Standalone Cluster, string Name)[] remotes)
    {
        using var http = new HttpClient { BaseAddress = new Uri(local.AdminUrl) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        foreach (var (remote, remoteName) in remotes)
            await SucceedsAsync(await http.PutAsJsonAsync($"/admin/v2/clusters/{remoteName}", new { serviceUrl = remote.AdminUrl, brokerServiceUrl = remote.Url }));
        string[] all = [localName, .. remotes.Select(r => r.Name)];
        await SucceedsAsync(await http.PostAsJsonAsync("/admin/v2/tenants/public", new { adminRoles = Array.Empty<string>(), allowedClusters = all }));
        await SucceedsAsync(await http.PutAsJsonAsync($"/admin/v2/namespaces/{Namespace}", new Dictionary<string, string[]> { ["replication_clusters"] = all }));
    }

    /// <summary>Asserts a request succeeded, else fails with the request and the answer.</summary>
    public static async Task SucceedsAsync(HttpResponseMessage response)
        => Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
}
