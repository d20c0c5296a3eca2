using System.Net;
using System.Text;
using System.Text.Json;
using Tiered.Broker.Naming;
using Tiered.Broker.Topics;
using Tiered.Client;
using Tiered.Testing;
using Tiered.V1;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>A real broker hosting the admin API whose backlog quotas are checked every 100 ms; each test has its own namespace.</summary>
public sealed class BacklogQuotaFixture : IAsyncLifetime
{
    public LocalBroker Broker { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public TieredClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Broker = await LocalBroker.StartAsync(
            options => options with { MaintenanceInterval = TimeSpan.FromHours(1), BacklogQuotaCheckInterval = TimeSpan.FromMilliseconds(100) },
            b => b.AddTieredAdminApi());
        Http = new HttpClient { BaseAddress = new Uri(Broker.AdminUrl) };
        Client = new TieredClient(new TieredClientOptions { ServiceUrl = Broker.Url, OperationTimeout = TimeSpan.FromSeconds(10) });
    }

    public async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        Http.Dispose();
        await Broker.DisposeAsync();
    }
}

/// <summary>
/// Backlog quotas end to end: the admin API sets them, the broker holds, refuses or evicts, the .NET client and
/// `tiered produce` show the refusal, topic stats show the backlog against the quota.
/// </summary>
public sealed class BacklogQuotaTests(BacklogQuotaFixture fixture) : IClassFixture<BacklogQuotaFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>200 bytes: with the batch's framing each entry is a little over 200 bytes.</summary>
    private static byte[] Payload(int i) => Encoding.UTF8.GetBytes($"m{i:D3}-".PadRight(200, 'x'));

    private static int IndexOf(ReadOnlyMemory<byte> payload) => int.Parse(Encoding.UTF8.GetString(payload.Span)[1..4], System.Globalization.CultureInfo.InvariantCulture);

    private HttpClient Http => fixture.Http;

    private async Task<(string Ns, string Topic)> TopicWithSubscriptionsAsync(string local, params string[] subscriptions)
    {
        var ns = await BrokerSteps.NewNamespaceAsync(Http);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/{local}", null));
        foreach (var subscription in subscriptions)
            await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/{local}/subscription/{subscription}", null));
        return (ns, $"persistent://{ns}/{local}");
    }

    private async Task SetQuotaAsync(string ns, string type, string body)
        => await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/backlogQuota?backlogQuotaType={type}", Json(body)));

    private Topic Loaded(string topic) => fixture.Broker.Server.Topics.FindLoaded(TopicName.Parse(topic)) ?? throw new InvalidOperationException($"{topic} is not loaded");

    private async Task<JsonElement> StatsAsync(string topic)
        => await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{topic["persistent://".Length..]}/stats"));

    private Task<Producer> ProducerAsync(string topic)
        => fixture.Client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false });

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(10);
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_held_producer_is_neither_stored_nor_answered_over_the_quota_and_resumes_without_loss_once_the_consumer_catches_up()
    {
        var (ns, topic) = await TopicWithSubscriptionsAsync("held", "slow");
        await using var producer = await ProducerAsync(topic);
        for (var i = 0; i < 20; i++)
            await producer.SendAsync(Payload(i)).AsTask().WaitAsync(Wait);
        // Set once the backlog is there: set before, a check between two of these sends would hold the rest.
        await SetQuotaAsync(ns, "destination_storage", """{"limitSize":2000,"policy":"producer_request_hold"}""");
        await UntilAsync(() => Loaded(topic).BacklogQuotaBreach is { Hold: true }, "the topic holds its producers");

        var held = Enumerable.Range(20, 20).Select(i => producer.SendAsync(Payload(i)).AsTask()).ToList();
        await UntilAsync(() => Loaded(topic).HeldBatches == 20, "the 20 later sends are held");
        var stats = await StatsAsync(topic);
        Assert.Equal(20, stats.GetProperty("msgInCounter").GetInt64());
        Assert.True(stats.GetProperty("backlogQuotaExceeded").GetBoolean(), stats.ToString());
        Assert.Equal(2000, stats.GetProperty("backlogQuotaLimitSize").GetInt64());
        Assert.Equal(-1, stats.GetProperty("backlogQuotaLimitTime").GetInt64());
        Assert.True(stats.GetProperty("backlogSize").GetInt64() > 2000, stats.ToString());
        Assert.DoesNotContain(held, send => send.IsCompleted);

        // The consumer catches up: the held sends are stored, in order, and it receives them too.
        await using var consumer = await fixture.Client.SubscribeAsync(new ConsumerOptions(topic, "slow"));
        var received = new List<int>();
        while (received.Count < 40)
        {
            var message = await consumer.ReceiveAsync().AsTask().WaitAsync(Wait);
            received.Add(IndexOf(message.Payload));
            await consumer.AcknowledgeAsync(message);
        }
        await Task.WhenAll(held).WaitAsync(Wait);
        // Sent 40, acknowledged 40, stored 40, received 40 in order: none lost, none twice.
        Assert.Equal(Enumerable.Range(0, 40), received);
        Assert.Equal(40, (await StatsAsync(topic)).GetProperty("msgInCounter").GetInt64());
        Assert.Equal(0, Loaded(topic).HeldBatches);
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => consumer.ReceiveAsync(quiet.Token).AsTask());
    }

    [Fact]
    public async Task Over_a_producer_exception_quota_sends_are_refused_with_BACKLOG_QUOTA_EXCEEDED_and_nothing_stored_then_accepted_after_acks()
    {
        var (ns, topic) = await TopicWithSubscriptionsAsync("refused", "slow");
        await using var producer = await ProducerAsync(topic);
        for (var i = 0; i < 10; i++)
            await producer.SendAsync(Payload(i)).AsTask().WaitAsync(Wait);
        await SetQuotaAsync(ns, "destination_storage", """{"limitSize":1000,"policy":"producer_exception"}""");
        await UntilAsync(() => Loaded(topic).BacklogQuotaBreach is { Hold: false }, "the topic refuses sends");

        var refused = await Assert.ThrowsAsync<BacklogQuotaExceededException>(() => producer.SendAsync(Payload(10)).AsTask().WaitAsync(Wait));
        Assert.Contains("over its namespace's destination_storage quota of 1000 bytes", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Send again once consumers have acknowledged", refused.Message, StringComparison.Ordinal);
        // The producer is still usable and refused again, never retried forever.
        await Assert.ThrowsAsync<BacklogQuotaExceededException>(() => producer.SendAsync(Payload(11)).AsTask().WaitAsync(Wait));

        var (exitCode, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), ["produce", topic, "-m", "from-cli", "--url", fixture.Broker.Url]);
        Assert.True(exitCode != 0, output);
        Assert.Contains("backlog quota exceeded", output, StringComparison.Ordinal);
        Assert.Contains("destination_storage quota of 1000 bytes", output, StringComparison.Ordinal);
        // Any gRPC client of client.proto gets the same answer: a Node producer.
        var (nodeExit, nodeOutput, nodeErrors) = await NodeScript.RunAsync("backlog-quota.js", TimeSpan.FromSeconds(60), $"127.0.0.1:{new Uri(fixture.Broker.Url).Port}", topic);
        Assert.True(nodeExit == 0, $"node exited with {nodeExit}:\n{nodeOutput}{nodeErrors}");
        Assert.Contains("\"refused\":2", nodeOutput, StringComparison.Ordinal);
        Assert.Contains("producer_exception", nodeOutput, StringComparison.Ordinal);
        Assert.Equal(10, (await StatsAsync(topic)).GetProperty("msgInCounter").GetInt64());

        await using (var consumer = await fixture.Client.SubscribeAsync(new ConsumerOptions(topic, "slow")))
        {
            for (var i = 0; i < 10; i++)
            {
                var message = await consumer.ReceiveAsync().AsTask().WaitAsync(Wait);
                Assert.Equal(i, IndexOf(message.Payload));
                await consumer.AcknowledgeAsync(message);
            }
        }
        await UntilAsync(() => Loaded(topic).BacklogQuotaBreach is null, "the quota no longer refuses");
        await producer.SendAsync(Payload(12)).AsTask().WaitAsync(Wait);
        Assert.Equal(11, (await StatsAsync(topic)).GetProperty("msgInCounter").GetInt64());
    }

    [Fact]
    public async Task Eviction_moves_the_slowest_subscription_forward_leaves_the_fast_one_alone_and_publishing_goes_on()
    {
        var (ns, topic) = await TopicWithSubscriptionsAsync("evicted", "slow", "fast");
        await using var producer = await ProducerAsync(topic);
        for (var i = 0; i < 30; i++)
            await producer.SendAsync(Payload(i)).AsTask().WaitAsync(Wait);
        // The fast subscription acknowledges up to m28: its backlog, 1 entry, is far under the quota.
        await using (var fast = await fixture.Client.SubscribeAsync(new ConsumerOptions(topic, "fast")))
        {
            ReceivedMessage message;
            do
                message = await fast.ReceiveAsync().AsTask().WaitAsync(Wait);
            while (IndexOf(message.Payload) < 28);
            await fast.AcknowledgeCumulativeAsync(message);
        }
        await SetQuotaAsync(ns, "destination_storage", """{"limitSize":2000,"policy":"consumer_backlog_eviction"}""");

        await UntilAsync(async () => (await StatsAsync(topic)).GetProperty("subscriptions").GetProperty("slow").GetProperty("msgBacklog").GetInt64() < 30,
            "the slow subscription was moved forward");
        var stats = await StatsAsync(topic);
        var slow = stats.GetProperty("subscriptions").GetProperty("slow");
        Assert.True(slow.GetProperty("backlogSize").GetInt64() <= 2000, stats.ToString());
        Assert.True(slow.GetProperty("msgBacklog").GetInt64() >= 5, stats.ToString());
        Assert.Equal(1, stats.GetProperty("subscriptions").GetProperty("fast").GetProperty("msgBacklog").GetInt64());
        Assert.False(stats.GetProperty("backlogQuotaExceeded").GetBoolean(), stats.ToString());
        Assert.Null(Loaded(topic).BacklogQuotaBreach);

        // Publishing goes on (nothing held or refused), and the slow subscription is kept under the quota.
        for (var i = 30; i < 35; i++)
            await producer.SendAsync(Payload(i)).AsTask().WaitAsync(Wait);
        await UntilAsync(async () => (await StatsAsync(topic)).GetProperty("subscriptions").GetProperty("slow").GetProperty("msgBacklog").GetInt64() < 10,
            "the slow subscription is under the quota again");
        Assert.Equal(6, (await StatsAsync(topic)).GetProperty("subscriptions").GetProperty("fast").GetProperty("msgBacklog").GetInt64());
        await using var slowConsumer = await fixture.Client.SubscribeAsync(new ConsumerOptions(topic, "slow"));
        Assert.InRange(IndexOf((await slowConsumer.ReceiveAsync().AsTask().WaitAsync(Wait)).Payload), 25, 34);
        await using var fastConsumer = await fixture.Client.SubscribeAsync(new ConsumerOptions(topic, "fast"));
        for (var i = 29; i < 35; i++)
            Assert.Equal(i, IndexOf((await fastConsumer.ReceiveAsync().AsTask().WaitAsync(Wait)).Payload));
    }

    [Fact]
    public async Task A_message_age_quota_with_eviction_acknowledges_only_the_messages_older_than_its_limit()
    {
        var (ns, topic) = await TopicWithSubscriptionsAsync("aged", "slow");
        var hourAgo = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        await BrokerSteps.ProduceAsync(fixture.Broker, topic, 5, publishTimeMs: hourAgo);
        await BrokerSteps.ProduceAsync(fixture.Broker, topic, 3);
        await SetQuotaAsync(ns, "message_age", """{"limitTime":600,"policy":"consumer_backlog_eviction"}""");

        await UntilAsync(async () => (await StatsAsync(topic)).GetProperty("subscriptions").GetProperty("slow").GetProperty("msgBacklog").GetInt64() == 3,
            "the 5 messages an hour old were evicted");
        await UntilAsync(async () => (await StatsAsync(topic)).GetProperty("oldestBacklogMessageAgeSeconds").GetInt64() is >= 0 and < 600, "the oldest message is young");
        var stats = await StatsAsync(topic);
        Assert.Equal(600, stats.GetProperty("backlogQuotaLimitTime").GetInt64());
        Assert.Equal(-1, stats.GetProperty("backlogQuotaLimitSize").GetInt64());
        Assert.False(stats.GetProperty("backlogQuotaExceeded").GetBoolean(), stats.ToString());
        // Only the three young messages are left: m0, m1, m2 (the old ones were m0 … m4).
        await using var consumer = await RawConsumer.SubscribeAsync(fixture.Broker.Client(), new Subscribe { Topic = topic, Subscription = "slow" });
        foreach (var expected in (string[])["m0", "m1", "m2"])
            Assert.Equal(expected, (await consumer.ReceiveAsync(Wait))?.Payload);
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_message_age_hold_shows_in_topic_stats_and_partitioned_stats()
    {
        var ns = await BrokerSteps.NewNamespaceAsync(Http);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("2")));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/subscription/s", null));
        var partition = $"persistent://{ns}/wide-partition-0";
        await BrokerSteps.ProduceAsync(fixture.Broker, partition, 2, publishTimeMs: DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds());
        await SetQuotaAsync(ns, "message_age", """{"limitTime":60,"policy":"producer_request_hold"}""");

        await UntilAsync(() => Loaded(partition).BacklogQuotaBreach is { Hold: true, Type: "message_age" }, "the old partition holds its producers");
        var stats = await StatsAsync(partition);
        Assert.True(stats.GetProperty("backlogQuotaExceeded").GetBoolean(), stats.ToString());
        Assert.InRange(stats.GetProperty("oldestBacklogMessageAgeSeconds").GetInt64(), 3500, 3700);
        var partitioned = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/wide/partitioned-stats"));
        Assert.True(partitioned.GetProperty("backlogQuotaExceeded").GetBoolean(), partitioned.ToString());
        Assert.Equal(60, partitioned.GetProperty("backlogQuotaLimitTime").GetInt64());
        Assert.False(partitioned.GetProperty("partitions").GetProperty($"persistent://{ns}/wide-partition-1").GetProperty("backlogQuotaExceeded").GetBoolean());

        // Removing the quota releases the hold.
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}/backlogQuota?backlogQuotaType=message_age"));
        await UntilAsync(() => Loaded(partition).BacklogQuotaBreach is null, "the hold is released");
        Assert.Equal(-1, (await StatsAsync(partition)).GetProperty("backlogQuotaLimitTime").GetInt64());
    }

    [Fact]
    public async Task Backlog_quotas_are_set_read_and_removed_and_bad_input_changes_nothing()
    {
        var ns = await BrokerSteps.NewNamespaceAsync(Http);
        var quota = $"/admin/v2/namespaces/{ns}/backlogQuota";
        async Task<string> MapAsync() => (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/backlogQuotaMap"))).GetRawText();
        Assert.Equal("{}", await MapAsync());

        var refusals = new (string Query, string Body, string Reason)[]
        {
            ("?backlogQuotaType=disk_space", """{"limitSize":10,"policy":"producer_exception"}""", "Unknown backlogQuotaType 'disk_space'"),
            ("", """{"limitSize":-5,"policy":"producer_exception"}""", "needs limitSize in bytes, 0 or more (it was -5)"),
            ("", """{"policy":"producer_exception"}""", "needs limitSize"),
            ("?backlogQuotaType=message_age", """{"limitTime":-1,"policy":"producer_exception"}""", "needs limitTime in seconds"),
            ("", """{"limitSize":10,"policy":"drop_everything"}""", "policy 'drop_everything' is not one of"),
            ("", """{"limitSize":10}""", "policy '' is not one of"),
            ("", """{"limitSize":10,"limitTime":60,"policy":"producer_exception"}""", "limitTime does not apply to backlogQuotaType destination_storage"),
            ("?backlogQuotaType=message_age", """{"limitTime":99999999999,"policy":"producer_exception"}""", "more than 2147483647 seconds"),
            ("", """{"limitSize":10,"policy":""", "Invalid JSON body"),
            ("", """{"limitSize":"ten","policy":"producer_exception"}""", "Invalid JSON body"),
            ("", "", "A JSON body"),
        };
        foreach (var (query, body, reason) in refusals)
        {
            var detail = await Expect.ProblemAsync(await Http.PostAsync(quota + query, Json(body)), HttpStatusCode.BadRequest);
            Assert.Contains(reason, detail, StringComparison.Ordinal);
        }
        Assert.Equal("{}", await MapAsync());
        await Expect.ProblemAsync(await Http.PostAsync("/admin/v2/namespaces/public/nowhere/backlogQuota", Json("""{"limitSize":10,"policy":"producer_exception"}""")), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PostAsync("/admin/v2/namespaces/no-tenant/ns/backlogQuota", Json("""{"limitSize":10,"policy":"producer_exception"}""")), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/namespaces/public/nowhere/backlogQuotaMap"), HttpStatusCode.NotFound);

        // Without a type: destination_storage, as Pulsar; older tools' "limit" is limitSize.
        await Expect.NoContentAsync(await Http.PostAsync(quota, Json("""{"limit":1048576,"policy":"producer_request_hold"}""")));
        await Expect.NoContentAsync(await Http.PostAsync(quota + "?backlogQuotaType=message_age", Json("""{"limitTime":3600,"limitSize":-1,"policy":"consumer_backlog_eviction"}""")));
        var map = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/backlogQuota"));
        Assert.Equal(1048576, map.GetProperty("destination_storage").GetProperty("limitSize").GetInt64());
        Assert.Equal("producer_request_hold", map.GetProperty("destination_storage").GetProperty("policy").GetString());
        Assert.False(map.GetProperty("destination_storage").TryGetProperty("limit", out _), map.ToString());
        Assert.Equal(3600, map.GetProperty("message_age").GetProperty("limitTime").GetInt64());
        var policies = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"));
        Assert.Equal("consumer_backlog_eviction", policies.GetProperty("backlog_quota_map").GetProperty("message_age").GetProperty("policy").GetString());

        // A refusal leaves what is stored as it was.
        var before = await MapAsync();
        await Expect.ProblemAsync(await Http.PostAsync(quota, Json("""{"limitSize":-2,"policy":"producer_exception"}""")), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.DeleteAsync(quota + "?backlogQuotaType=everything"), HttpStatusCode.BadRequest);
        Assert.Equal(before, await MapAsync());

        await Expect.NoContentAsync(await Http.DeleteAsync(quota + "?backlogQuotaType=message_age"));
        Assert.False((await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/backlogQuotaMap"))).TryGetProperty("message_age", out _));
        await Expect.NoContentAsync(await Http.DeleteAsync(quota));
        await Expect.NoContentAsync(await Http.DeleteAsync(quota));
        Assert.Equal("{}", await MapAsync());
        // The OpenAPI document describes the endpoints (with their type parameter) and the stats fields.
        var openApi = await Http.GetStringAsync("/admin/v2/openapi.json");
        foreach (var name in (string[])["backlogQuotaType", "limitSize", "limitTime", "backlogQuotaExceeded", "backlogQuotaLimitSize", "oldestBacklogMessageAgeSeconds"])
            Assert.Contains($"\"{name}\"", openApi, StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/namespaces/public/bad-{Guid.NewGuid():N}", Json("""{"backlog_quota_map":{"destination_storage":{"limitSize":-3,"policy":"producer_exception"}}}""")),
            HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_command_line_sets_reads_and_removes_backlog_quotas()
    {
        var ns = await BrokerSteps.NewNamespaceAsync(Http);
        async Task<string> TieredAsync(int expected, params string[] args)
        {
            var (exitCode, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), ["admin", .. args, "--admin-url", fixture.Broker.AdminUrl]);
            Assert.True(exitCode == expected, $"tiered admin {string.Join(' ', args)} exited with {exitCode}, expected {expected}:\n{output}");
            return output;
        }

        await TieredAsync(0, "namespaces", "set-backlog-quota", ns, "--limit-size", "10M", "--policy", "producer_exception");
        await TieredAsync(0, "namespaces", "set-backlog-quota", ns, "--type", "message_age", "--limit-time", "2h", "-p", "consumer_backlog_eviction");
        var quotas = await TieredAsync(0, "namespaces", "get-backlog-quotas", ns);
        Assert.Contains("\"limitSize\":10485760", quotas.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("\"limitTime\":7200", quotas.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("needs limitSize in bytes", await TieredAsync(1, "namespaces", "set-backlog-quota", ns, "--limit-size", "-1", "--policy", "producer_exception"), StringComparison.Ordinal);
        Assert.Contains("is not a size", await TieredAsync(2, "namespaces", "set-backlog-quota", ns, "--limit-size", "ten", "--policy", "producer_exception"), StringComparison.Ordinal);
        await TieredAsync(0, "namespaces", "remove-backlog-quota", ns, "--type", "message_age");
        Assert.DoesNotContain("message_age", await TieredAsync(0, "namespaces", "get-backlog-quotas", ns), StringComparison.Ordinal);
        Assert.Contains("producer_request_hold", await TieredAsync(0, "namespaces", "set-backlog-quota", "--help"), StringComparison.Ordinal);
    }
}
