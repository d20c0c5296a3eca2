using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Tiered.Broker.Naming;
using Tiered.Client;
using Tiered.V1;

namespace Tiered.AdminApi.Tests;

/// <summary>
/// Bundles on a real broker with its standalone ownership gate: the HTTP lookup, which bundles the
/// broker owns, and unloads and splits that move topics while producers and consumers use them.
/// </summary>
public sealed class BundleWithBrokerTests(AdminBrokerFixture fixture) : IClassFixture<AdminBrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private HttpClient Http => fixture.Http;

    private Task<string> NewNamespaceAsync() => BrokerSteps.NewNamespaceAsync(Http);

    private async Task<string> BrokerIdAsync()
        => Assert.Single(Expect.Strings(await Expect.OkAsync(await Http.GetAsync("/admin/v2/brokers/standalone"))));

    /// <summary>The bundles of <paramref name="ns"/> the broker owns, as "tenant/ns/0x…_0x…".</summary>
    private async Task<List<string>> OwnedInAsync(string ns)
    {
        var owned = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/brokers/standalone/{await BrokerIdAsync()}/ownedNamespaces"));
        foreach (var status in owned.EnumerateObject())
        {
            Assert.Equal("shared", status.Value.GetProperty("broker_assignment").GetString());
            Assert.False(status.Value.GetProperty("is_controlled").GetBoolean());
            Assert.True(status.Value.GetProperty("is_active").GetBoolean());
        }
        return [.. owned.EnumerateObject().Select(p => p.Name).Where(n => n.StartsWith(ns + "/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
    }

    private async Task<string> BundleOfAsync(string ns, string topic)
    {
        var response = await Http.GetAsync($"/lookup/v2/topic/persistent/{ns}/{topic}/bundle");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private Tiered.Broker.Topics.Topic? Loaded(string topic) => fixture.Broker.Server.Topics.FindLoaded(TopicName.Parse(topic));

    [Fact]
    public async Task The_http_lookup_answers_the_brokers_urls_as_the_grpc_lookup_does()
    {
        var ns = await NewNamespaceAsync();
        var data = await Expect.OkAsync(await Http.GetAsync($"/lookup/v2/topic/persistent/{ns}/orders"));
        var grpc = await fixture.Broker.Client().LookupAsync(new LookupRequest { Topic = $"persistent://{ns}/orders" });
        Assert.Equal(fixture.Broker.Url, grpc.BrokerUrl);
        Assert.Equal(grpc.BrokerUrl, data.GetProperty("brokerUrl").GetString());
        Assert.Equal(grpc.BrokerUrl, data.GetProperty("nativeUrl").GetString());
        Assert.Equal(fixture.Broker.AdminUrl, data.GetProperty("httpUrl").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("brokerUrlTls").ValueKind);
        Assert.Equal(JsonValueKind.Null, data.GetProperty("httpUrlTls").ValueKind);
        // The lookup acquired the topic's bundle, as the gRPC Lookup does.
        Assert.Contains($"{ns}/{await BundleOfAsync(ns, "orders")}", await OwnedInAsync(ns));

        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.GetAsync("/lookup/v2/topic/persistent/public/nope/orders"), HttpStatusCode.NotFound));
        await Expect.ProblemAsync(await Http.GetAsync("/lookup/v2/topic/persistent/public/no%20pe/orders"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task OwnedNamespaces_lists_the_bundles_of_the_topics_used_and_unloads_release_them()
    {
        var ns = await NewNamespaceAsync();
        Assert.Empty(await OwnedInAsync(ns));
        var topics = Enumerable.Range(0, 8).Select(i => $"t{i}").ToList();
        var bundleOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            await BrokerSteps.ProduceAsync(fixture.Broker, $"persistent://{ns}/{topic}", 1);
            bundleOf[topic] = await BundleOfAsync(ns, topic);
        }
        var used = bundleOf.Values.Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(used.Count >= 2, "the test's topics should fall in at least two bundles");
        Assert.Equal(used.Select(b => $"{ns}/{b}"), await OwnedInAsync(ns));

        var unloaded = used[0];
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/{unloaded}/unload", null));
        Assert.Equal(used.Skip(1).Select(b => $"{ns}/{b}"), await OwnedInAsync(ns));
        foreach (var topic in topics)
            Assert.Equal(bundleOf[topic] != unloaded, Loaded($"persistent://{ns}/{topic}") is not null);

        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/unload", null));
        Assert.Empty(await OwnedInAsync(ns));
        Assert.All(topics, topic => Assert.Null(Loaded($"persistent://{ns}/{topic}")));
        // Nothing was deleted: a topic loads again with its message.
        var last = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/t0/lastMessageId"));
        Assert.True(last.GetProperty("entryId").GetInt64() >= 0, $"t0 lost its message: {last}");

        var unknown = await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/brokers/standalone/10.9.9.9:8080/ownedNamespaces"), HttpStatusCode.NotFound);
        Assert.Contains("not a live broker of cluster standalone", unknown, StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/brokers/nowhere/{await BrokerIdAsync()}/ownedNamespaces"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/namespaces/public/nope/unload", null), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/namespaces/public/nope/0x00000000_0x40000000/unload", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_producer_and_a_consumer_running_across_an_unload_and_a_split_lose_nothing()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/flow";
        await using var client = new TieredClient(new TieredClientOptions
        {
            ServiceUrl = fixture.Broker.Url,
            ReconnectInitialBackoff = TimeSpan.FromMilliseconds(20),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(500),
        });
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic));
        var acknowledged = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        var received = new ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        using var stopProducing = new CancellationTokenSource();
        using var stopConsuming = new CancellationTokenSource();
        var producing = Task.Run(async () =>
        {
            for (var next = 0; !stopProducing.IsCancellationRequested; next += 20)
            {
                var sends = Enumerable.Range(next, 20).Select(n => (Text: $"m{n}", Send: producer.SendAsync(Encoding.UTF8.GetBytes($"m{n}")).AsTask())).ToList();
                foreach (var (text, send) in sends)
                {
                    await send;
                    acknowledged[text] = 0;
                }
            }
        });
        var consuming = Task.Run(async () =>
        {
            while (!stopConsuming.IsCancellationRequested)
            {
                var message = await consumer.ReceiveAsync(stopConsuming.Token);
                received[Encoding.UTF8.GetString(message.Payload.Span)] = 0;
                // An ack lost in a reconnect only brings the message again.
                _ = consumer.AcknowledgeAsync(message).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
            }
        });

        async Task ProducedMoreAsync(int more)
        {
            var target = acknowledged.Count + more;
            using var deadline = new CancellationTokenSource(Wait);
            while (acknowledged.Count < target)
            {
                Assert.False(producing.IsFaulted, $"the producer failed: {producing.Exception}");
                await Task.Delay(10, deadline.Token);
            }
        }

        await ProducedMoreAsync(300);
        var before = Loaded(topic);
        Assert.NotNull(before);
        var bundle = await BundleOfAsync(ns, "flow");
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/{bundle}/unload", null));
        Assert.NotSame(before, Loaded(topic));
        await ProducedMoreAsync(300);

        var reloaded = Loaded(topic);
        Assert.NotNull(reloaded);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}/{bundle}/split", null));
        Assert.NotSame(reloaded, Loaded(topic));
        var half = await BundleOfAsync(ns, "flow");
        Assert.NotEqual(bundle, half);
        Assert.True(NamespaceBundleRangeWithin(half, bundle), $"{half} is not a half of {bundle}");
        await ProducedMoreAsync(300);
        var owned = await OwnedInAsync(ns);
        Assert.Contains($"{ns}/{half}", owned);
        Assert.DoesNotContain($"{ns}/{bundle}", owned);

        await stopProducing.CancelAsync();
        await producing;
        var until = DateTime.UtcNow + Wait;
        while (!acknowledged.Keys.All(received.ContainsKey) && DateTime.UtcNow < until)
            await Task.Delay(10);
        await stopConsuming.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consuming);
        Assert.True(acknowledged.Count >= 900, $"only {acknowledged.Count} messages acknowledged");
        var lost = acknowledged.Keys.Where(m => !received.ContainsKey(m)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged messages never arrived: {string.Join(", ", lost.Take(20))}");
    }

    private static bool NamespaceBundleRangeWithin(string inner, string outer)
        => Broker.Ownership.NamespaceBundle.TryParseRange(inner, out var innerLower, out var innerUpper)
            && Broker.Ownership.NamespaceBundle.TryParseRange(outer, out var outerLower, out var outerUpper)
            && innerLower >= outerLower && innerUpper <= outerUpper && (innerLower, innerUpper) != (outerLower, outerUpper);
}
