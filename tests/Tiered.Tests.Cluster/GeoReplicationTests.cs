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
    private const string Namespace = GeoConfiguration.Namespace;

    /// <summary>A standalone named <paramref name="cluster"/>.</summary>
    private static Standalone Named(string cluster) => new("--cluster-name", cluster);

    /// <summary>On <paramref name="local"/>: registers <paramref name="remote"/>, lets the public tenant use both, and replicates <see cref="Namespace"/> to both.</summary>
    private static Task ConfigureAsync(Standalone local, string localName, Standalone remote, string remoteName)
        => GeoConfiguration.ConfigureAsync(local, localName, token: null, (remote, remoteName));

    private static Task ConfigureAsync(Standalone local, string localName, params (Standalone Cluster, string Name)[] remotes)
        => GeoConfiguration.ConfigureAsync(local, localName, token: null, remotes);

    [Fact]
    public async Task Producers_in_two_clusters_publish_to_one_topic_and_each_cluster_receives_every_message_once_in_producer_order()
    {
        using var a = Named("a");
        using var b = Named("b");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await ConfigureAsync(a, "a", b, "b");
        await ConfigureAsync(b, "b", a, "a");
        const string topic = $"persistent://{Namespace}/orders";
        const int perCluster = 50_000;

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
        // Each replicator's backlog drains to zero: what it sent was acknowledged, and the other cluster's
        // messages (skipped, never sent back) are acknowledged too.
        foreach (var (cluster, remote) in new[] { (a, "b"), (b, "a") })
        {
            using var http = new HttpClient { BaseAddress = new Uri(cluster.AdminUrl) };
            await WaitForAsync(async () => (await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v2/persistent/{Namespace}/orders/stats"))
                .GetProperty("replication").GetProperty(remote).GetProperty("replicationBacklog").GetInt64() == 0, $"the backlog to {remote} to drain");
        }
    }

    [Fact]
    public async Task Three_clusters_in_a_full_mesh_each_receive_every_message_once_and_forward_only_their_own()
    {
        using var a = Named("a");
        using var b = Named("b");
        using var c = Named("c");
        await Task.WhenAll(a.StartAsync(), b.StartAsync(), c.StartAsync());
        var clusters = new[] { (Cluster: a, Name: "a"), (Cluster: b, Name: "b"), (Cluster: c, Name: "c") };
        foreach (var (cluster, name) in clusters)
            await ConfigureAsync(cluster, name, [.. clusters.Where(other => other.Name != name)]);
        const string topic = $"persistent://{Namespace}/mesh";
        const int perCluster = 2_000;

        var clients = clusters.Select(x => new TieredClient(new TieredClientOptions { ServiceUrl = x.Cluster.Url })).ToArray();
        try
        {
            var consumers = await Task.WhenAll(clients.Select(client =>
                client.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest })));
            await Task.WhenAll(clients.Select((client, i) => ProduceAsync(client, topic, clusters[i].Name, perCluster)));
            for (var i = 0; i < clusters.Length; i++)
            {
                var (received, duplicates, outOfOrder) = await ReceiveAsync(consumers[i], 3 * perCluster);
                var lost = 3 * perCluster - received.Count;
                output.WriteLine($"cluster {clusters[i].Name}: {received.Count} distinct of {3 * perCluster}, {lost} lost, {duplicates} duplicated, {outOfOrder} out of producer order");
                Assert.Equal((0, 0, 0), (lost, duplicates, outOfOrder));
                await consumers[i].DisposeAsync();
            }

            // No loops: each cluster sent each other cluster only its own producer's messages, never what it had received.
            foreach (var (cluster, name) in clusters)
            {
                using var http = new HttpClient { BaseAddress = new Uri(cluster.AdminUrl) };
                var replication = (await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v2/persistent/{Namespace}/mesh/stats")).GetProperty("replication");
                foreach (var remote in clusters.Where(other => other.Name != name))
                {
                    var sent = replication.GetProperty(remote.Name).GetProperty("msgOutCounter").GetInt64();
                    output.WriteLine($"{name} -> {remote.Name}: {sent} messages");
                    Assert.Equal(perCluster, sent);
                }
            }
        }
        finally
        {
            foreach (var client in clients)
                await client.DisposeAsync();
        }
    }

    /// <summary>
    /// A producer in A publishes while A's standalone (running the replicator to B) is killed with SIGKILL with
    /// entries sent to B and not yet acknowledged, and started again; later the same for B. The producer resends what
    /// had no receipt, the replicator starts over from its durable cursor, and B's de-duplication (keyed by origin
    /// cluster and producer) drops what it already had.
    /// </summary>
    [Fact]
    public async Task Kill_9_of_the_replicating_cluster_and_of_the_remote_mid_stream_leaves_every_message_in_the_remote_exactly_once()
    {
        using var a = Named("a");
        using var b = Named("b");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await ConfigureAsync(a, "a", b, "b");
        await ConfigureAsync(b, "b", a, "a");
        const string topic = $"persistent://{Namespace}/crashes";
        await using var clientA = new TieredClient(new TieredClientOptions
        {
            ServiceUrl = a.Url,
            ReconnectInitialBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(500),
        });
        using var httpA = new HttpClient { BaseAddress = new Uri(a.AdminUrl) };
        var sent = 0;
        var acknowledged = 0;
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            await using var producer = await clientA.CreateProducerAsync(new ProducerOptions(topic) { ProducerName = "a", BatchingMaxMessages = 100 });
            var window = new Queue<Task<MessageId>>();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                window.Enqueue(producer.SendAsync(Encoding.UTF8.GetBytes($"a-{i}")).AsTask());
                Volatile.Write(ref sent, i + 1);
                if (window.Count >= 1000)
                {
                    await window.Dequeue().WaitAsync(TimeSpan.FromSeconds(60));
                    acknowledged++;
                }
                if (i % 100 == 99)
                    await Task.Delay(5); // about 20,000 messages a second at most: the test stays short
            }
            while (window.Count > 0)
            {
                await window.Dequeue().WaitAsync(TimeSpan.FromSeconds(60));
                acknowledged++;
            }
        });

        // Each kill comes while the replicator has sent entries that B has not acknowledged yet.
        var killedA = await WaitForInFlightAsync(httpA, after: 5_000);
        a.Kill();
        await a.StartAsync();
        var killedB = await WaitForInFlightAsync(httpA, after: Volatile.Read(ref sent) + 5_000);
        b.Kill();
        await b.StartAsync();
        var afterB = Volatile.Read(ref sent) + 5_000;
        await WaitForAsync(() => Task.FromResult(Volatile.Read(ref sent) >= afterB || publishing.IsCompleted), "the producer to go on");
        await stop.CancelAsync();
        await publishing;
        output.WriteLine($"A killed with the replicator at {killedA}; B killed with A's replicator at {killedB}");

        await using var clientB = new TieredClient(new TieredClientOptions { ServiceUrl = b.Url });
        await using var consumer = await clientB.SubscribeAsync(new ConsumerOptions(topic, "check") { InitialPosition = SubscriptionInitialPosition.Earliest });
        var (received, duplicates, outOfOrder) = await ReceiveAsync(consumer, acknowledged);
        var lost = Enumerable.Range(0, acknowledged).Count(i => !received.Contains($"a-{i}"));
        output.WriteLine($"b: acknowledged in a {acknowledged}, received {received.Count} distinct, {lost} lost, {duplicates} duplicated, {outOfOrder} out of order");
        Assert.Equal((0, 0, 0), (lost, duplicates, outOfOrder));

        // Once the producer has sent more than `after` messages, waits until A's replicator to B has entries in flight.
        async Task<string> WaitForInFlightAsync(HttpClient http, int after)
        {
            var state = "";
            await WaitForAsync(async () =>
            {
                if (Volatile.Read(ref sent) < after)
                    return false;
                var stats = await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v2/persistent/{Namespace}/crashes/stats");
                if (!stats.TryGetProperty("replication", out var replication) || !replication.TryGetProperty("b", out var toB))
                    return false;
                state = $"{toB.GetProperty("msgOutCounter").GetInt64()} sent, backlog {toB.GetProperty("replicationBacklog").GetInt64()}";
                return toB.GetProperty("connected").GetBoolean() && toB.GetProperty("msgOutCounter").GetInt64() > 0 && toB.GetProperty("replicationBacklog").GetInt64() > 0;
            }, "the replicator to have entries in flight");
            return state;
        }
    }

    /// <summary>
    /// A subscription with replicated state: as its consumer in A acknowledges, the subscription of the same name in B
    /// (created there by the update) moves with it; a consumer that then joins it in B gets what came after, not what A's
    /// consumer had already acknowledged. Markers (the snapshots and updates in the log) reach no consumer.
    /// </summary>
    [Fact]
    public async Task A_replicated_subscription_follows_its_consumer_into_the_other_cluster()
    {
        using var a = Named("a");
        using var b = Named("b");
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await ConfigureAsync(a, "a", b, "b");
        await ConfigureAsync(b, "b", a, "a");
        const string topic = $"persistent://{Namespace}/followed";
        await using var clientA = new TieredClient(new TieredClientOptions { ServiceUrl = a.Url });
        await using var clientB = new TieredClient(new TieredClientOptions { ServiceUrl = b.Url });
        var options = new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest, ReplicateSubscriptionState = true };

        await using (var consumerA = await clientA.SubscribeAsync(options))
        {
            await ProduceAsync(clientA, topic, "a", 1_000, first: 0);
            var (received, duplicates, outOfOrder) = await ReceiveAsync(consumerA, 1_000, acknowledge: true);
            Assert.Equal((1_000, 0, 0), (received.Count, duplicates, outOfOrder));

            // B's subscription "s" appears and catches up with A's consumer.
            var followed = System.Diagnostics.Stopwatch.StartNew();
            using var httpB = new HttpClient { BaseAddress = new Uri(b.AdminUrl) };
            var last = "";
            await WaitForAsync(async () =>
            {
                var stats = await httpB.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v2/persistent/{Namespace}/followed/stats");
                last = stats.ToString();
                return stats.GetProperty("subscriptions").TryGetProperty("s", out var s) && s.GetProperty("msgBacklog").GetInt64() == 0
                    && s.GetProperty("isReplicated").GetBoolean();
            }, "b's subscription s to follow a's consumer", () => last);
            output.WriteLine($"b's subscription caught up {followed.Elapsed.TotalSeconds:0.0} s after a's consumer had acknowledged everything");
        }

        await ProduceAsync(clientA, topic, "a", 1_000, first: 1_000);
        await using var consumerB = await clientB.SubscribeAsync(options);
        var (inB, duplicatesInB, outOfOrderInB) = await ReceiveAsync(consumerB, 1_000, acknowledge: true);
        output.WriteLine($"b's consumer got {inB.Count} distinct ({duplicatesInB} duplicated, {outOfOrderInB} out of order), {inB.Count(m => int.Parse(m[2..], System.Globalization.CultureInfo.InvariantCulture) < 1_000)} of them acknowledged in a before");
        Assert.Equal(Enumerable.Range(1_000, 1_000).Select(i => $"a-{i}").ToHashSet(), inB);
        Assert.Equal((0, 0), (duplicatesInB, outOfOrderInB));
    }

    [Fact]
    public async Task A_remote_cluster_down_while_publishing_gets_everything_when_it_is_back_and_retention_trims_nothing_before()
    {
        // Small ledgers and a maintenance pass every second, so that retention would trim within the test.
        string[] small = ["--max-entries-per-ledger", "50"];
        using var a = new Standalone(["--cluster-name", "a", .. small]);
        using var b = new Standalone(["--cluster-name", "b", .. small]);
        a.Environment["TIERED_BROKER__MAINTENANCEINTERVAL"] = "00:00:01";
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await ConfigureAsync(a, "a", b, "b");
        await ConfigureAsync(b, "b", a, "a");
        using var http = new HttpClient { BaseAddress = new Uri(a.AdminUrl) };
        // No retention at all in A: only the replicator's cursor keeps what B has not got.
        Assert.True((await http.PostAsJsonAsync($"/admin/v2/namespaces/{Namespace}/retention", new { retentionTimeInMinutes = 0, retentionSizeInMB = 0 })).IsSuccessStatusCode);
        const string topic = $"persistent://{Namespace}/while-down";
        const int count = 2_000;

        b.Kill();
        await using (var clientA = new TieredClient(new TieredClientOptions { ServiceUrl = a.Url }))
        {
            await using var producer = await clientA.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false });
            var sends = new List<Task<MessageId>>();
            for (var i = 0; i < count; i++)
                sends.Add(producer.SendAsync(Encoding.UTF8.GetBytes($"a-{i}")).AsTask());
            await Task.WhenAll(sends);
        }
        var down = await WaitForReplicationAsync(http, "while-down", r => r.GetProperty("replicationBacklog").GetInt64() >= count && !r.GetProperty("connected").GetBoolean()
            && r.GetProperty("replicationDelayInSeconds").GetDouble() > 0 && r.GetProperty("lastError").GetString() is { Length: > 0 }, "the backlog for the stopped cluster");
        output.WriteLine($"with b down: {down}");

        await b.StartAsync();
        await using var clientB = new TieredClient(new TieredClientOptions { ServiceUrl = b.Url });
        await using var consumer = await clientB.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        var (received, duplicates, outOfOrder) = await ReceiveAsync(consumer, count);
        output.WriteLine($"b received {received.Count} distinct of {count}, {duplicates} duplicated, {outOfOrder} out of order");
        Assert.Equal((count, 0, 0), (received.Count, duplicates, outOfOrder));
        var drained = await WaitForReplicationAsync(http, "while-down", r => r.GetProperty("replicationBacklog").GetInt64() == 0 && r.GetProperty("connected").GetBoolean()
            && r.GetProperty("msgOutCounter").GetInt64() == count && r.GetProperty("replicationDelayInSeconds").GetDouble() == 0, "the backlog to drain");
        output.WriteLine($"after b came back: {drained}");
    }

    [Fact]
    public async Task Removing_a_cluster_from_the_list_stops_replicating_to_it_and_adding_it_back_resumes_without_duplicates()
    {
        using var a = new Standalone("--cluster-name", "a");
        using var b = new Standalone("--cluster-name", "b");
        a.Environment["TIERED_BROKER__MAINTENANCEINTERVAL"] = "00:00:01";
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        await ConfigureAsync(a, "a", b, "b");
        await ConfigureAsync(b, "b", a, "a");
        using var http = new HttpClient { BaseAddress = new Uri(a.AdminUrl) };
        const string topic = $"persistent://{Namespace}/switched";
        await using var clientA = new TieredClient(new TieredClientOptions { ServiceUrl = a.Url });
        await using var clientB = new TieredClient(new TieredClientOptions { ServiceUrl = b.Url });
        await using var consumer = await clientB.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        await ProduceAsync(clientA, topic, "a", 100, first: 0);
        var (received, duplicates, _) = await ReceiveAsync(consumer, 100);
        Assert.Equal((100, 0), (received.Count, duplicates));

        // Only A now: its replicator for B goes (and with it the cursor), so nothing more reaches B.
        Assert.True((await http.PostAsJsonAsync($"/admin/v2/namespaces/{Namespace}/replication", new[] { "a" })).IsSuccessStatusCode);
        await WaitForAsync(async () => !(await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v2/persistent/{Namespace}/switched/stats")).GetProperty("replication").TryGetProperty("b", out _),
            "the replicator to b to stop");
        await ProduceAsync(clientA, topic, "a", 100, first: 100);
        using (var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(3)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await consumer.ReceiveAsync(quiet.Token));

        // B again: a new cursor from the earliest message A retains; B drops what it has already.
        Assert.True((await http.PostAsJsonAsync($"/admin/v2/namespaces/{Namespace}/replication", new[] { "a", "b" })).IsSuccessStatusCode);
        var (more, moreDuplicates, _) = await ReceiveAsync(consumer, 100);
        output.WriteLine($"after b was added back: {more.Count} more distinct, {moreDuplicates} duplicated");
        Assert.Equal(Enumerable.Range(100, 100).Select(i => $"a-{i}").ToHashSet(), more);
        Assert.Equal(0, moreDuplicates);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited 60 s for {what}. {state?.Invoke()}");
            await Task.Delay(200);
        }
    }

    /// <summary>Polls A's stats of <paramref name="topic"/> until its replication to b satisfies <paramref name="condition"/> (60 s at most).</summary>
    private static async Task<string> WaitForReplicationAsync(HttpClient http, string topic, Func<System.Text.Json.JsonElement, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var stats = await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v2/persistent/{Namespace}/{topic}/stats");
            if (stats.TryGetProperty("replication", out var replication) && replication.TryGetProperty("b", out var toB))
            {
                last = toB.ToString();
                if (condition(toB))
                    return last;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"Waited 60 s for {what}; replication to b: {last}");
    }

    private static async Task ProduceAsync(TieredClient client, string topic, string prefix, int count, int first = 0)
    {
        await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic));
        var window = new Queue<Task<MessageId>>();
        for (var i = first; i < first + count; i++)
        {
            window.Enqueue(producer.SendAsync(Encoding.UTF8.GetBytes($"{prefix}-{i}")).AsTask());
            if (window.Count >= 500)
                await window.Dequeue();
        }
        await Task.WhenAll(window);
    }

    /// <summary>Reads until <paramref name="expected"/> distinct messages arrived (60 s at most) and a moment more; counts duplicates and per-producer order.</summary>
    private static async Task<(HashSet<string> Received, int Duplicates, int OutOfOrder)> ReceiveAsync(Consumer consumer, int expected, bool acknowledge = false)
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
            if (acknowledge)
                await consumer.AcknowledgeAsync(message);
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
