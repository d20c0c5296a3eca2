using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Tiered.Client;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>
/// Geo-replication of a partitioned topic between two `tiered standalone` clusters: the topic is created in one
/// cluster only, and the replicators of its partitions create it in the other with the same partitions (and grow it
/// there when it grows), so that a partitioned consumer there reads every partition.
/// </summary>
public sealed class GeoReplicationPartitionedTests(ITestOutputHelper output)
{
    private const string Namespace = GeoConfiguration.Namespace;

    private static Task ConfigureAsync(Standalone local, string localName, Standalone remote, string remoteName)
        => GeoConfiguration.ConfigureAsync(local, localName, token: null, (remote, remoteName));

    private static Task SucceedsAsync(HttpResponseMessage response) => GeoConfiguration.SucceedsAsync(response);

    [Fact]
    public async Task A_partitioned_topic_created_in_one_cluster_gets_its_partitions_in_the_other_and_every_message_arrives_once_also_after_it_grows()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var a = new Standalone("--cluster-name", "a");
        using var b = new Standalone("--cluster-name", "b");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await ConfigureAsync(a, "a", b, "b");
        await ConfigureAsync(b, "b", a, "a");
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: both clusters up and configured");
        using var httpA = new HttpClient { BaseAddress = new Uri(a.AdminUrl) };
        using var httpB = new HttpClient { BaseAddress = new Uri(b.AdminUrl) };
        const string topic = $"persistent://{Namespace}/orders";
        const string partitionsPath = $"/admin/v2/persistent/{Namespace}/orders/partitions";

        // A topic of the same name without partitions in B cannot take A's partitions: A's replicator says so and sends
        // nothing. (A creates no topic on B's behalf, so that B's replicator of it cannot make one in A first.)
        await SucceedsAsync(await httpA.PostAsJsonAsync($"/admin/v2/namespaces/{Namespace}/autoTopicCreation", new { allowAutoTopicCreation = false }));
        await SucceedsAsync(await httpB.PutAsync($"/admin/v2/persistent/{Namespace}/lone", null));
        await SucceedsAsync(await httpA.PutAsJsonAsync($"/admin/v2/persistent/{Namespace}/lone/partitions", 1));

        // Three partitions, in A only.
        await SucceedsAsync(await httpA.PutAsJsonAsync(partitionsPath, 3));
        await using var clientA = new TieredClient(new TieredClientOptions { ServiceUrl = a.Url });
        await using var clientB = new TieredClient(new TieredClientOptions { ServiceUrl = b.Url });
        Assert.Equal(3, await ProduceAsync(clientA, topic, first: 0, count: 3_000));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: b's partitions: {await WaitForPartitionsAsync(httpB, partitionsPath, 3)}");
        await using (var consumer = await clientB.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest }))
        {
            Assert.Equal(3, consumer.Partitions);
            var first = await ReceiveAsync(consumer, Enumerable.Range(0, 3_000));
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: b, 3 partitions: {first}");
            Assert.Equal((3_000, 3_000, 0, 0, 0, 3), (first.Received, first.Acknowledged, first.Lost, first.Duplicated, first.Unexpected, first.Partitions));
        }

        // A grows to four: the new partition's replicator grows B, and B's subscription (opened again, as the client
        // reads the partition count when it subscribes) gets the new messages of all four, and none of the old again.
        await SucceedsAsync(await httpA.PostAsJsonAsync(partitionsPath, 4));
        Assert.Equal(4, await ProduceAsync(clientA, topic, first: 3_000, count: 1_000));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: b's partitions after the growth: {await WaitForPartitionsAsync(httpB, partitionsPath, 4)}");
        await using (var consumer = await clientB.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest }))
        {
            Assert.Equal(4, consumer.Partitions);
            var second = await ReceiveAsync(consumer, Enumerable.Range(3_000, 1_000));
            output.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: b, 4 partitions: {second}");
            Assert.Equal((1_000, 1_000, 0, 0, 0, 4), (second.Received, second.Acknowledged, second.Lost, second.Duplicated, second.Unexpected, second.Partitions));
        }
        var lone = (await httpA.GetFromJsonAsync<JsonElement>($"/admin/v2/persistent/{Namespace}/lone-partition-0/stats")).GetProperty("replication").GetProperty("b");
        output.WriteLine($"replication of lone-partition-0 to b: {lone}");
        Assert.False(lone.GetProperty("connected").GetBoolean());
        Assert.Contains("exists in cluster b without partitions", lone.GetProperty("lastError").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, lone.GetProperty("msgOutCounter").GetInt64());
    }

    /// <summary>Publishes m-{first} … with keys spread over the partitions; answers the producer's partition count.</summary>
    private static async Task<int> ProduceAsync(TieredClient client, string topic, int first, int count)
    {
        await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic));
        var window = new Queue<Task<MessageId>>();
        for (var i = first; i < first + count; i++)
        {
            window.Enqueue(producer.SendAsync(Encoding.UTF8.GetBytes($"m-{i}"), key: $"key-{i % 101}").AsTask());
            if (window.Count >= 500)
                await window.Dequeue();
        }
        await Task.WhenAll(window);
        return producer.Partitions;
    }

    /// <summary>Polls the remote's partition count until it is <paramref name="expected"/> (20 s at most: the replicators do it at their start).</summary>
    private static async Task<string> WaitForPartitionsAsync(HttpClient http, string path, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync(path);
            last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            if (response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("partitions").GetInt32() == expected)
                return last;
            await Task.Delay(100);
        }
        throw new TimeoutException($"Waited 20 s for {expected} partitions in the remote cluster; GET {path} answers {last}.");
    }

    /// <summary>Distinct expected messages received, acknowledgements, expected ones never received, repeats, messages of another phase, and partitions seen.</summary>
    private sealed record Counts(int Received, int Acknowledged, int Lost, int Duplicated, int Unexpected, int Partitions);

    /// <summary>Receives and acknowledges until every expected message arrived (30 s at most) and 2 s more; counts duplicates and the partitions they came from.</summary>
    private static async Task<Counts> ReceiveAsync(Consumer consumer, IEnumerable<int> expected)
    {
        var wanted = expected.Select(i => $"m-{i}").ToHashSet();
        var missing = wanted.ToHashSet();
        var received = new HashSet<string>();
        var partitions = new HashSet<int>();
        var (duplicated, unexpected) = (0, 0);
        var acknowledgements = new List<Task>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
            if (missing.Count == 0)
                wait.CancelAfter(TimeSpan.FromSeconds(2));
            ReceivedMessage message;
            try
            {
                message = await consumer.ReceiveAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                // Each acknowledgement completes once the broker stored it; counted when all have.
                await Task.WhenAll(acknowledgements);
                return new Counts(received.Count, acknowledgements.Count, missing.Count, duplicated, unexpected, partitions.Count);
            }
            var text = Encoding.UTF8.GetString(message.Payload.Span);
            if (!wanted.Contains(text))
                unexpected++;
            else if (!received.Add(text))
                duplicated++;
            missing.Remove(text);
            partitions.Add(message.Id.Partition);
            acknowledgements.Add(consumer.AcknowledgeAsync(message));
        }
    }
}
