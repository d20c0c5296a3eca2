using System.Net.Http.Json;
using System.Text;
using Tiered.Client;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>
/// Geo-replication between two real clusters on 127.0.0.1, each a `tiered standalone` (its own metadata service,
/// bookie and broker) with its own cluster name; each registers the other and replicates a namespace to it.
/// </summary>
public sealed class GeoReplicationTests(ITestOutputHelper output)
{
    private const string Namespace = "public/geo";

    /// <summary>A standalone named <paramref name="cluster"/>.</summary>
    private static Standalone Named(string cluster) => new("--cluster-name", cluster);

    /// <summary>On <paramref name="local"/>: registers <paramref name="remote"/>, lets the public tenant use both, and replicates <see cref="Namespace"/> to both.</summary>
    private static async Task ConfigureAsync(Standalone local, string localName, Standalone remote, string remoteName)
    {
        using var http = new HttpClient { BaseAddress = new Uri(local.AdminUrl) };
        await SucceedsAsync(await http.PutAsJsonAsync($"/admin/v2/clusters/{remoteName}", new { serviceUrl = remote.AdminUrl, brokerServiceUrl = remote.Url }));
        await SucceedsAsync(await http.PostAsJsonAsync("/admin/v2/tenants/public", new { adminRoles = Array.Empty<string>(), allowedClusters = new[] { localName, remoteName } }));
        await SucceedsAsync(await http.PutAsJsonAsync($"/admin/v2/namespaces/{Namespace}", new Dictionary<string, string[]> { ["replication_clusters"] = [localName, remoteName] }));

        static async Task SucceedsAsync(HttpResponseMessage response)
            => Assert.True(response.IsSuccessStatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Producers_in_two_clusters_publish_to_one_topic_and_each_cluster_receives_every_message_once_in_producer_order()
    {
        using var a = Named("a");
        using var b = Named("b");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await ConfigureAsync(a, "a", b, "b");
        await ConfigureAsync(b, "b", a, "a");
        const string topic = $"persistent://{Namespace}/orders";
        const int perCluster = 5_000;

        await using var clientA = new TieredClient(new TieredClientOptions { ServiceUrl = a.Url });
        await using var clientB = new TieredClient(new TieredClientOptions { ServiceUrl = b.Url });
        // Subscriptions first, from the earliest message: each cluster's consumer must see both producers' messages.
        await using var consumerA = await clientA.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        await using var consumerB = await clientB.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        await Task.WhenAll(ProduceAsync(clientA, topic, "a", perCluster), ProduceAsync(clientB, topic, "b", perCluster));

        foreach (var (name, consumer) in new[] { ("a", consumerA), ("b", consumerB) })
        {
            var (received, duplicates, outOfOrder) = await ReceiveAsync(consumer, 2 * perCluster);
            var lost = 2 * perCluster - received.Count;
            output.WriteLine($"cluster {name}: {received.Count} distinct of {2 * perCluster}, {lost} lost, {duplicates} duplicated, {outOfOrder} out of producer order");
            Assert.Equal((0, 0, 0), (lost, duplicates, outOfOrder));
        }
    }

    private static async Task ProduceAsync(TieredClient client, string topic, string prefix, int count)
    {
        await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic));
        var window = new Queue<Task<MessageId>>();
        for (var i = 0; i < count; i++)
        {
            window.Enqueue(producer.SendAsync(Encoding.UTF8.GetBytes($"{prefix}-{i}")).AsTask());
            if (window.Count >= 500)
                await window.Dequeue();
        }
        await Task.WhenAll(window);
    }

    /// <summary>Reads until <paramref name="expected"/> distinct messages arrived (60 s at most) and a moment more; counts duplicates and per-producer order.</summary>
    private static async Task<(HashSet<string> Received, int Duplicates, int OutOfOrder)> ReceiveAsync(Consumer consumer, int expected)
    {
        var received = new HashSet<string>();
        var last = new Dictionary<string, int>();
        var (duplicates, outOfOrder) = (0, 0);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var settle = false;
        while (true)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            if (settle)
                wait.CancelAfter(TimeSpan.FromSeconds(2));
            ReceivedMessage message;
            try
            {
                message = await consumer.ReceiveAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                return (received, duplicates, outOfOrder);
            }
            var text = Encoding.UTF8.GetString(message.Payload.Span);
            if (!received.Add(text))
            {
                duplicates++;
                continue;
            }
            var (producer, index) = (text[..1], int.Parse(text[2..], System.Globalization.CultureInfo.InvariantCulture));
            if (last.TryGetValue(producer, out var previous) && index != previous + 1)
                outOfOrder++;
            last[producer] = index;
            settle = received.Count >= expected;
        }
    }
}
