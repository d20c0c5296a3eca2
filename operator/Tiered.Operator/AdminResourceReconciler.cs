using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Tiered.Operator;

/// <summary>The admin API refused a request; the message is its answer, shown in the resource's status.</summary>
public sealed class AdminApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

/// <summary>
/// Reconciles <see cref="TieredTenant"/>, <see cref="TieredNamespace"/> and <see cref="TieredTopic"/> through the
/// referenced cluster's admin API (<c>/admin/v2</c>), as Strimzi's topic operator does for <c>KafkaTopic</c>:
/// what the spec says is created or corrected, what the API refuses is reported as <c>Degraded</c> with its
/// answer, and deleting the resource deletes the tenant, namespace or topic (a finalizer holds the object
/// until the admin API agreed — it refuses to delete a tenant with namespaces, a namespace with topics, or a
/// topic with connected clients, and the operator tries again).
/// </summary>
public sealed class AdminResourceReconciler(IKubernetes client, HttpClient http, OperatorOptions options, ILogger logger)
{
    public const string Finalizer = "tiered.dev/admin-cleanup";

    public async Task<ReconcileOutcome> ReconcileAsync(string plural, string ns, string name, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return plural switch
                {
                    TieredTenant.Plural => await ReconcileAsync<TieredTenant>(plural, ns, name, ApplyTenantAsync, DeleteTenantAsync, ct),
                    TieredNamespace.Plural => await ReconcileAsync<TieredNamespace>(plural, ns, name, ApplyNamespaceAsync, DeleteNamespaceAsync, ct),
                    _ => await ReconcileAsync<TieredTopic>(plural, ns, name, ApplyTopicAsync, DeleteTopicAsync, ct),
                };
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict && attempt < 5)
            {
                logger.Conflict(ns, name);
            }
        }
    }

    private async Task<ReconcileOutcome> ReconcileAsync<T>(string plural, string ns, string name,
        Func<Uri, TieredCluster, T, CancellationToken, Task> apply, Func<Uri, T, CancellationToken, Task> delete, CancellationToken ct)
        where T : AdminResource
    {
        T resource;
        try
        {
            resource = await client.CustomObjects.GetNamespacedCustomObjectAsync<T>(TieredCluster.Group, TieredCluster.Version, ns, plural, name, ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return ReconcileOutcome.Done;
        }
        TieredCluster? cluster = null;
        try
        {
            cluster = await client.CustomObjects.GetNamespacedCustomObjectAsync<TieredCluster>(TieredCluster.Group, TieredCluster.Version, ns, TieredCluster.Plural, resource.ClusterRef, ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Reported below, or, when deleting, nothing is left to clean up.
        }

        if (resource.Metadata.DeletionTimestamp is not null)
        {
            if (resource.Metadata.Finalizers?.Contains(Finalizer) != true)
                return ReconcileOutcome.Done;
            if (cluster is not null && cluster.Metadata.DeletionTimestamp is null)
            {
                try
                {
                    await delete(options.AdminUrl(cluster), resource, ct);
                }
                catch (Exception e) when (e is AdminApiException or HttpRequestException)
                {
                    await SetStatusAsync(plural, resource, false, "DeleteRefused", e.Message, ct);
                    return ReconcileOutcome.InProgress;
                }
            }
            resource.Metadata.Finalizers = [.. resource.Metadata.Finalizers.Where(f => f != Finalizer)];
            await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<T>(resource, TieredCluster.Group, TieredCluster.Version, ns, plural, name, cancellationToken: ct);
            logger.Acted(ns, name, $"{resource.Kind} deleted");
            return ReconcileOutcome.Done;
        }
        if (resource.Metadata.Finalizers?.Contains(Finalizer) != true)
        {
            resource.Metadata.Finalizers = [.. resource.Metadata.Finalizers ?? [], Finalizer];
            resource = await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<T>(resource, TieredCluster.Group, TieredCluster.Version, ns, plural, name, cancellationToken: ct);
        }
        if (cluster is null)
        {
            await SetStatusAsync(plural, resource, false, "ClusterNotFound", $"spec.clusterRef: TieredCluster {ns}/{resource.ClusterRef} does not exist.", ct);
            return ReconcileOutcome.InProgress;
        }
        try
        {
            await apply(options.AdminUrl(cluster), cluster, resource, ct);
        }
        catch (AdminApiException e)
        {
            await SetStatusAsync(plural, resource, false, "AdminApiRefused", e.Message, ct);
            return ReconcileOutcome.InProgress;
        }
        catch (HttpRequestException e)
        {
            await SetStatusAsync(plural, resource, false, "AdminApiUnreachable", $"The admin API of {resource.ClusterRef} cannot be reached: {e.Message}", ct);
            return ReconcileOutcome.InProgress;
        }
        await SetStatusAsync(plural, resource, true, "Applied", null, ct);
        return ReconcileOutcome.Done;
    }

    private async Task ApplyTenantAsync(Uri admin, TieredCluster cluster, TieredTenant t, CancellationToken ct)
    {
        var tenant = t.Spec.Name ?? t.Metadata.Name;
        var allowed = t.Spec.AllowedClusters ?? [cluster.Spec.GeoReplication?.ClusterName ?? cluster.Metadata.Name];
        var body = new JsonObject { ["adminRoles"] = new JsonArray([.. t.Spec.AdminRoles.Select(r => (JsonNode)r!)]), ["allowedClusters"] = new JsonArray([.. allowed.Select(c => (JsonNode)c!)]) };
        var current = await GetJsonAsync(admin, $"tenants/{Esc(tenant)}", ct);
        if (current is null)
        {
            await SendAsync(HttpMethod.Put, admin, $"tenants/{Esc(tenant)}", body, ct);
            return;
        }
        if (!SameSet(current["adminRoles"], t.Spec.AdminRoles) || !SameSet(current["allowedClusters"], allowed))
            await SendAsync(HttpMethod.Post, admin, $"tenants/{Esc(tenant)}", body, ct);
    }

    private Task DeleteTenantAsync(Uri admin, TieredTenant t, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, admin, $"tenants/{Esc(t.Spec.Name ?? t.Metadata.Name)}", null, ct, notFoundIsOk: true);

    private async Task ApplyNamespaceAsync(Uri admin, TieredCluster cluster, TieredNamespace n, CancellationToken ct)
    {
        var path = $"namespaces/{Esc(n.Spec.Tenant)}/{Esc(n.Spec.Name ?? n.Metadata.Name)}";
        if (await GetJsonAsync(admin, path, ct) is null)
        {
            var body = n.Spec.Bundles is { } bundles ? new JsonObject { ["bundles"] = new JsonObject { ["numBundles"] = bundles } } : new JsonObject();
            await SendAsync(HttpMethod.Put, admin, path, body, ct);
        }
        if (n.Spec.ReplicationClusters is { Count: > 0 } wanted)
        {
            var current = await GetJsonAsync(admin, path + "/replication", ct);
            if (!SameSet(current, wanted))
                await SendAsync(HttpMethod.Post, admin, path + "/replication", new JsonArray([.. wanted.Select(c => (JsonNode)c!)]), ct);
        }
        foreach (var (policy, value) in n.Spec.Policies ?? new Dictionary<string, JsonNode>())
        {
            if (!NamespaceSpec.PolicyNames.Contains(policy))
                throw new AdminApiException(HttpStatusCode.BadRequest, $"spec.policies.{policy} is not a namespace policy the operator sets; use one of {string.Join(", ", NamespaceSpec.PolicyNames)}.");
            // Only what the spec names is compared: the admin API may answer defaults the spec leaves out.
            if (policy == NamespaceSpec.BacklogQuota)
                await ApplyBacklogQuotasAsync(admin, path, value, ct);
            else if (!Covers(await GetJsonAsync(admin, $"{path}/{policy}", ct), value))
                await SendAsync(HttpMethod.Post, admin, $"{path}/{policy}", value.DeepClone(), ct);
        }
        if (n.Spec.Permissions is { } permissions)
        {
            var granted = (await GetJsonAsync(admin, path + "/permissions", ct)) as JsonObject ?? [];
            foreach (var (role, actions) in permissions)
            {
                if (!SameSet(granted[role], actions))
                    await SendAsync(HttpMethod.Post, admin, $"{path}/permissions/{Esc(role)}", new JsonArray([.. actions.Select(a => (JsonNode)a!)]), ct);
            }
            foreach (var (role, _) in granted.Where(g => !permissions.ContainsKey(g.Key)).ToList())
                await SendAsync(HttpMethod.Delete, admin, $"{path}/permissions/{Esc(role)}", null, ct, notFoundIsOk: true);
        }
    }

    /// <summary>
    /// spec.policies.backlogQuota is the map the admin API answers ({"destination_storage": {...}, "message_age": {...}});
    /// the API sets one type at a time, so each type the spec names is compared and set on its own. A type taken out of
    /// the spec is left as it was set, as every policy.
    /// </summary>
    private async Task ApplyBacklogQuotasAsync(Uri admin, string path, JsonNode value, CancellationToken ct)
    {
        if (value is not JsonObject quotas)
            throw new AdminApiException(HttpStatusCode.BadRequest, "spec.policies.backlogQuota must be an object of quotas by type: {\"destination_storage\": {\"limitSize\": …, \"policy\": …}}.");
        var current = await GetJsonAsync(admin, $"{path}/backlogQuotaMap", ct) as JsonObject;
        foreach (var (type, quota) in quotas)
        {
            if (quota is null)
                continue;
            if (!Covers(current?[type], quota))
                await SendAsync(HttpMethod.Post, admin, $"{path}/backlogQuota?backlogQuotaType={Esc(type)}", quota.DeepClone(), ct);
        }
    }

    /// <summary>Whether <paramref name="current"/> holds <paramref name="wanted"/>: equal, or for objects every property wanted equal.</summary>
    private static bool Covers(JsonNode? current, JsonNode wanted) => wanted is JsonObject properties
        ? current is JsonObject held && properties.All(p => p.Value is null ? held[p.Key] is null : Covers(held[p.Key], p.Value))
        : JsonNode.DeepEquals(current, wanted);

    private Task DeleteNamespaceAsync(Uri admin, TieredNamespace n, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, admin, $"namespaces/{Esc(n.Spec.Tenant)}/{Esc(n.Spec.Name ?? n.Metadata.Name)}", null, ct, notFoundIsOk: true);

    private async Task ApplyTopicAsync(Uri admin, TieredCluster cluster, TieredTopic t, CancellationToken ct)
    {
        var path = TopicPath(t);
        if (t.Spec.Partitions <= 0)
        {
            if (await SendAsync(HttpMethod.Put, admin, path, null, ct, conflictIsOk: true) == HttpStatusCode.Conflict
                && (await GetJsonAsync(admin, path + "/partitions", ct))?["partitions"]?.GetValue<int>() is > 0)
                throw new AdminApiException(HttpStatusCode.Conflict, $"{path} exists as a partitioned topic; spec.partitions is 0. A topic cannot stop being partitioned.");
            return;
        }
        var partitions = (await GetJsonAsync(admin, path + "/partitions", ct))?["partitions"]?.GetValue<int>() ?? 0;
        if (partitions == 0)
            await SendAsync(HttpMethod.Put, admin, path + "/partitions", JsonValue.Create(t.Spec.Partitions), ct);
        else if (partitions < t.Spec.Partitions)
            await SendAsync(HttpMethod.Post, admin, path + "/partitions", JsonValue.Create(t.Spec.Partitions), ct);
        else if (partitions > t.Spec.Partitions)
            throw new AdminApiException(HttpStatusCode.Conflict, $"spec.partitions is {t.Spec.Partitions} but the topic has {partitions}: partitions can only be added.");
    }

    private Task DeleteTopicAsync(Uri admin, TieredTopic t, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, admin, t.Spec.Partitions > 0 ? TopicPath(t) + "/partitions" : TopicPath(t), null, ct, notFoundIsOk: true);

    private static string TopicPath(TieredTopic t) => $"persistent/{Esc(t.Spec.Tenant)}/{Esc(t.Spec.Namespace)}/{Esc(t.Spec.Name ?? t.Metadata.Name)}";

    private static string Esc(string s) => Uri.EscapeDataString(s);

    private static bool SameSet(JsonNode? current, IEnumerable<string> wanted) =>
        current is JsonArray a && a.Select(n => n!.GetValue<string>()).Order(StringComparer.Ordinal).SequenceEqual(wanted.Order(StringComparer.Ordinal));

    private async Task<JsonNode?> GetJsonAsync(Uri admin, string path, CancellationToken ct)
    {
        using var request = Request(HttpMethod.Get, admin, path, null);
        using var response = await http.SendAsync(request, ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        await ThrowUnlessSuccess(request, response, ct);
        // 204: a policy that was never set.
        return await response.Content.ReadAsStringAsync(ct) is { Length: > 0 } text ? JsonNode.Parse(text) : null;
    }

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, Uri admin, string path, JsonNode? body, CancellationToken ct, bool notFoundIsOk = false, bool conflictIsOk = false)
    {
        using var request = Request(method, admin, path, body);
        using var response = await http.SendAsync(request, ct);
        if ((notFoundIsOk && response.StatusCode == HttpStatusCode.NotFound) || (conflictIsOk && response.StatusCode == HttpStatusCode.Conflict))
            return response.StatusCode;
        await ThrowUnlessSuccess(request, response, ct);
        return response.StatusCode;
    }

    private HttpRequestMessage Request(HttpMethod method, Uri admin, string path, JsonNode? body)
    {
        var request = new HttpRequestMessage(method, new Uri(admin, "admin/v2/" + path));
        if (body is not null)
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        if (options.AdminToken is { } token)
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static async Task ThrowUnlessSuccess(HttpRequestMessage request, HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
            return;
        var text = await response.Content.ReadAsStringAsync(ct);
        string reason;
        try
        {
            reason = JsonNode.Parse(text)?["reason"]?.GetValue<string>() ?? text;
        }
        catch (JsonException)
        {
            reason = text;
        }
        throw new AdminApiException(response.StatusCode, $"{request.Method} {request.RequestUri!.AbsolutePath} answered {(int)response.StatusCode}: {reason}");
    }

    private async Task SetStatusAsync<T>(string plural, T resource, bool ready, string reason, string? message, CancellationToken ct) where T : AdminResource
    {
        var generation = resource.Metadata.Generation;
        var status = new AdminResourceStatus
        {
            ObservedGeneration = generation,
            Conditions =
            [
                new ClusterCondition { Type = "Ready", Status = ready ? "True" : "False", Reason = reason, Message = message, ObservedGeneration = generation },
                new ClusterCondition { Type = "Degraded", Status = ready ? "False" : "True", Reason = ready ? "AsExpected" : reason, Message = message, ObservedGeneration = generation },
            ],
        };
        ClusterCondition.CarryTransitionTimes(status.Conditions, resource.Status?.Conditions);
        if (resource.Status is not null && KubernetesJson.Serialize(resource.Status) == KubernetesJson.Serialize(status))
            return;
        resource.Status = status;
        await client.CustomObjects.ReplaceNamespacedCustomObjectStatusAsync<T>(resource, TieredCluster.Group, TieredCluster.Version,
            resource.Metadata.NamespaceProperty, plural, resource.Metadata.Name, cancellationToken: ct);
    }
}
