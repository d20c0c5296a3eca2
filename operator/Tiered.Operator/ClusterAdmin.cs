using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization;

namespace Tiered.Operator;

/// <summary>What the admin API reports about a bookie being decommissioned (<c>GET /admin/v2/bookies/{id}/decommission</c>).</summary>
public sealed record DecommissionProgress(
    [property: JsonPropertyName("bookieId")] string BookieId,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("readOnly")] bool ReadOnly,
    [property: JsonPropertyName("ledgersRemaining")] long LedgersRemaining,
    [property: JsonPropertyName("underReplicatedLedgers")] long UnderReplicatedLedgers)
{
    /// <summary>The state in which every ledger the bookie held has Qw copies elsewhere: only then may it go.</summary>
    public bool IsDone => string.Equals(State, "Done", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// The cluster's own admin API, as far as the operator needs it: to scale bookies down without losing data, and to
/// register the geo-replication peers. An interface so that the decision logic can be tested against a fake endpoint
/// as well as a real cluster.
/// </summary>
public interface IClusterAdmin
{
    /// <summary>Registers <paramref name="peer"/> in the cluster (<c>/admin/v2/clusters/{name}</c>), or corrects its URLs; nothing when it is registered as given.</summary>
    Task RegisterPeerAsync(TieredCluster cluster, GeoPeer peer, CancellationToken cancellationToken);

    /// <summary>
    /// Starts draining the bookie (read-only, its ledgers re-replicated by auto-recovery); repeating it is harmless.
    /// Null when the cluster accepted it; the cluster's reason when it refused (409: too few bookies would remain).
    /// </summary>
    Task<string?> StartDecommissionAsync(TieredCluster cluster, string bookieId, CancellationToken cancellationToken);

    /// <summary>The progress of a drain, or null when none was started for this bookie.</summary>
    Task<DecommissionProgress?> GetDecommissionAsync(TieredCluster cluster, string bookieId, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IClusterAdmin"/> over HTTP, at the brokers' admin endpoint (by default the cluster's broker Service,
/// <c>http://NAME-broker.NS.svc:8080</c>), with the authentication token, when the cluster checks them, from
/// <see cref="OperatorOptions.AdminToken"/>.
/// </summary>
public sealed class HttpClusterAdmin(HttpClient http, Func<TieredCluster, Uri> adminUrl, string? token) : IClusterAdmin
{
    public async Task RegisterPeerAsync(TieredCluster cluster, GeoPeer peer, CancellationToken cancellationToken)
    {
        var path = $"admin/v2/clusters/{Uri.EscapeDataString(peer.Name)}";
        var wanted = new System.Text.Json.Nodes.JsonObject { ["serviceUrl"] = peer.AdminUrl, ["brokerServiceUrl"] = peer.ServiceUrl };
        HttpMethod method;
        using (var read = Request(HttpMethod.Get, cluster, path))
        using (var response = await http.SendAsync(read, cancellationToken))
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
                method = HttpMethod.Put;
            else if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"GET {read.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
            else if (System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) is { } held
                && held["serviceUrl"]?.GetValue<string>() == peer.AdminUrl && held["brokerServiceUrl"]?.GetValue<string>() == peer.ServiceUrl)
                return;
            else
                method = HttpMethod.Post;
        }
        using var write = Request(method, cluster, path);
        write.Content = new StringContent(wanted.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var written = await http.SendAsync(write, cancellationToken);
        if (!written.IsSuccessStatusCode)
            throw new HttpRequestException($"{method} {write.RequestUri} answered {(int)written.StatusCode}: {await written.Content.ReadAsStringAsync(cancellationToken)}");
    }

    public async Task<string?> StartDecommissionAsync(TieredCluster cluster, string bookieId, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, cluster, DecommissionPath(bookieId));
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
            return null;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Conflict)
            throw new HttpRequestException($"POST {request.RequestUri} answered {(int)response.StatusCode}: {body}");
        try
        {
            // A problem document (RFC 9457): its detail says why.
            return System.Text.Json.JsonDocument.Parse(body).RootElement.TryGetProperty("detail", out var detail) && detail.GetString() is { Length: > 0 } why ? why : body;
        }
        catch (System.Text.Json.JsonException)
        {
            return body;
        }
    }

    public async Task<DecommissionProgress?> GetDecommissionAsync(TieredCluster cluster, string bookieId, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, cluster, DecommissionPath(bookieId));
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"GET {request.RequestUri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        return await response.Content.ReadFromJsonAsync<DecommissionProgress>(cancellationToken);
    }

    private static string DecommissionPath(string bookieId) => $"admin/v2/bookies/{Uri.EscapeDataString(bookieId)}/decommission";

    private HttpRequestMessage Request(HttpMethod method, TieredCluster cluster, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(adminUrl(cluster), path));
        if (token is not null)
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return request;
    }
}
