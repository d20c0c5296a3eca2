using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tiered.Broker.Naming;

namespace Tiered.Replication;

/// <summary>
/// Makes a remote cluster's partitioned topic have at least as many partitions as this cluster's, through the
/// remote's admin API (the <c>serviceUrl</c> it is registered with here), before a partition is replicated to it:
/// without it the remote broker would create each partition as a lone topic of its own, which no partitioned
/// consumer there reads. It creates the topic when it is missing and grows it when it has fewer partitions; it never
/// shrinks it (one with more is left as it is). Replicators of several partitions run it at once: a create or a grow
/// that loses to another one reads the count again, so whichever wins, each ends with enough partitions.
/// </summary>
internal static class RemotePartitions
{
    /// <summary>Reads and writes that lose to concurrent ones this many times in a row fail (the replicator retries later).</summary>
    private const int MaxAttempts = 5;

    /// <summary>
    /// Ensures <paramref name="topic"/> (a partitioned topic's name) has at least <paramref name="partitions"/>
    /// partitions in the cluster whose admin API is at <paramref name="serviceUrl"/>; answers the count it has there.
    /// </summary>
    public static async Task<int> EnsureAsync(HttpClient http, string remote, string serviceUrl, TopicName topic, int partitions, CancellationToken cancellationToken)
    {
        var path = new Uri(new Uri(serviceUrl.TrimEnd('/') + "/"),
            $"admin/v2/persistent/{Uri.EscapeDataString(topic.Tenant)}/{Uri.EscapeDataString(topic.Namespace.Namespace)}/{Uri.EscapeDataString(topic.LocalName)}/partitions");
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var missing = false;
            using (var read = await http.GetAsync(path, cancellationToken).ConfigureAwait(false))
            {
                if (read.StatusCode == HttpStatusCode.NotFound && await IsTopicNotFoundAsync(read, cancellationToken).ConfigureAwait(false))
                {
                    missing = true;
                }
                else
                {
                    await RequireSuccessAsync(read, remote, "read the partitions of", topic, cancellationToken).ConfigureAwait(false);
                    var current = (await read.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false)).GetProperty("partitions").GetInt32();
                    if (current >= partitions)
                        return current;
                    if (current == 0)
                        throw new InvalidOperationException($"Topic {topic} exists in cluster {remote} without partitions, so its partitions cannot be replicated there: " +
                            $"delete it there (DELETE {path.AbsolutePath[..^"/partitions".Length]}) and the replicator's next attempt creates it with this cluster's partition count ({partitions}).");
                }
            }
            // Missing: created (PUT) with this count; fewer: grown (POST) to it. Either may lose to a concurrent create or
            // grow (409 exists or would shrink, 412 changed meanwhile, 404 on a grow: deleted meanwhile): read again.
            using var body = JsonContent.Create(partitions);
            using var write = missing
                ? await http.PutAsync(path, body, cancellationToken).ConfigureAwait(false)
                : await http.PostAsync(path, body, cancellationToken).ConfigureAwait(false);
            if (write.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed || (write.StatusCode == HttpStatusCode.NotFound && !missing))
                continue;
            await RequireSuccessAsync(write, remote, missing ? "create" : "grow", topic, cancellationToken).ConfigureAwait(false);
            return partitions;
        }
        throw new InvalidOperationException($"The partitions of {topic} in cluster {remote} changed concurrently {MaxAttempts} times in a row while this cluster tried to make them {partitions}; retrying later.");
    }

    /// <summary>A 404 for the topic itself (not for its namespace or tenant, which must be created there by hand).</summary>
    private static async Task<bool> IsTopicNotFoundAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var problem = JsonDocument.Parse(body);
            return problem.RootElement.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                && type.GetString()!.EndsWith(":topic-not-found", StringComparison.Ordinal);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static async Task RequireSuccessAsync(HttpResponseMessage response, string remote, string what, TopicName topic, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
            return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string reason;
        try
        {
            using var problem = JsonDocument.Parse(body);
            reason = problem.RootElement.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : body;
        }
        catch (JsonException)
        {
            reason = body.Length > 300 ? body[..300] : body;
        }
        throw new InvalidOperationException($"Cluster {remote}'s admin API ({response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}) refused to {what} {topic}: {(int)response.StatusCode} {reason}");
    }
}
