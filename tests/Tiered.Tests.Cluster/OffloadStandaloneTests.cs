using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Net.Client;
using Tiered.Ledger;
using Tiered.Metadata;
using Tiered.Testing;
using Tiered.V1;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// Tiered storage end to end: `tiered standalone` as a child process offloads closed ledgers to a
/// filesystem store or to a real S3-protocol server (s3rver), deletes the bookie copies, and
/// consumers read the offloaded messages with the same ids and bytes. Kill -9 mid-offload.
/// </summary>
public sealed class OffloadStandaloneTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private const string Namespace = "public/default";
    private S3Server? _s3;

    public async Task InitializeAsync() => _s3 = await S3Server.StartAsync();

    public async Task DisposeAsync()
    {
        if (_s3 is not null)
            await _s3.DisposeAsync();
    }

    private Standalone NewStandalone(string driver, params string[] more)
    {
        if (driver == "s3")
        {
            var bucket = $"offload-{Guid.NewGuid():N}"[..20];
            _s3!.CreateBucketAsync(bucket).GetAwaiter().GetResult();
            var s3 = new Standalone(["--offload-driver", "s3", "--offload-bucket", bucket, "--offload-endpoint", _s3.Endpoint, "--offload-path-style",
                "--offload-chunk-encoding", "false", .. more]);
            s3.Environment["AWS_ACCESS_KEY_ID"] = S3Server.AccessKey;
            s3.Environment["AWS_SECRET_ACCESS_KEY"] = S3Server.SecretKey;
            return s3;
        }
        return new Standalone(more);
    }

    [Theory]
    [InlineData("filesystem")]
    [InlineData("s3")]
    public async Task Fifty_thousand_offloaded_messages_are_consumed_with_the_same_ids_and_bytes_after_the_bookie_copies_are_gone(string driver)
    {
        using var run = await StartAsync(driver, "--max-entries-per-ledger", "60");
        var (standalone, http, client) = (run.Standalone, run.Http, run.Client);
        const string topic = "persistent://public/default/offloaded";
        var sent = await ProduceAsync(client, topic, batches: 500, perBatch: 100);

        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"/admin/v2/namespaces/{Namespace}/offloadDeletionLag", Json(0))).StatusCode);
        var last = sent[^1].Id;
        var trigger = await http.PutAsync("/admin/v2/persistent/public/default/offloaded/offload", Json(new { ledgerId = last.LedgerId, entryId = last.EntryId }));
        Assert.Equal(HttpStatusCode.NoContent, trigger.StatusCode);
        var status = await WaitForOffloadAsync(http, "offloaded");
        Assert.Equal("SUCCESS", status.GetProperty("status").GetString());

        var ledgers = await LedgersAsync(http, "offloaded");
        var closed = ledgers.Take(ledgers.Count - 1).ToList();
        Assert.True(closed.Count >= 8, $"expected several ledgers, got {closed.Count}");
        Assert.All(closed, l => Assert.True(l.GetProperty("offloaded").GetBoolean() && l.GetProperty("bookieDeleted").GetBoolean(), l.ToString()));
        Assert.Equal(ledgers[^1].GetProperty("ledgerId").GetInt64(), status.GetProperty("firstUnoffloadedMessage").GetProperty("ledgerId").GetInt64());

        // The bookies no longer have the offloaded ledgers.
        await using (var metadata = new MetadataClient([$"127.0.0.1:{standalone.MetadataPort}"]))
        await using (var ledgerClient = new LedgerClient(metadata))
        {
            foreach (var ledger in closed)
                await Assert.ThrowsAsync<LedgerNotFoundException>(() => ledgerClient.OpenLedgerAsync(ledger.GetProperty("ledgerId").GetInt64()));
        }

        if (driver == "s3")
        {
            // The object store goes down (and the broker restarts, so no cache holds the messages): a consumer
            // gets nothing, as the broker retries its reads, then everything once the store is back.
            _s3!.Kill();
            standalone.Kill();
            await standalone.StartAsync();
            await using var waiting = await SubscribeAsync(client, topic, "while-down");
            Assert.Null(await waiting.ReceiveAsync(TimeSpan.FromSeconds(2)));
            await _s3.RestartAsync();
            await AssertReceivedInOrderAsync(waiting, sent);
        }
        else
        {
            await AssertConsumedInOrderAsync(client, topic, sent);
        }

        // A reader that starts inside an offloaded ledger, and a subscription moved back by Seek, read from the same place.
        var start = sent.FindIndex(m => m.Id.LedgerId == closed[3].GetProperty("ledgerId").GetInt64() && m.Id.EntryId == 7 && m.BatchIndex == 0);
        Assert.True(start > 0);
        await using (var reader = await RawConsumer.SubscribeAsync(client, new Subscribe { Topic = topic, Reader = true, StartMessageId = sent[start].Id, StartInclusive = true }))
            await AssertReceivedInOrderAsync(reader, sent[start..(start + 300)], expectMore: true);
        await using (var consumer = await SubscribeAsync(client, topic, "seeking"))
        {
            await AssertReceivedInOrderAsync(consumer, sent[..10], expectMore: true);
            await client.SeekAsync(new SeekRequest { Topic = topic, Subscription = "seeking", MessageId = sent[start].Id });
        }
        await using (var consumer = await SubscribeAsync(client, topic, "seeking"))
            await AssertReceivedInOrderAsync(consumer, sent[start..(start + 300)], expectMore: true);

        if (driver == "filesystem")
        {
            // An independent Parquet reader sees one row per message in an offloaded object.
            var objects = Directory.GetFiles(Path.Combine(standalone.DataDir, "offload"), "*.parquet", SearchOption.AllDirectories);
            Assert.Equal(closed.Count, objects.Length);
            var first = closed[0].GetProperty("ledgerId").GetInt64();
            var file = Assert.Single(objects, o => Path.GetFileName(o).StartsWith($"ledger-{first}-", StringComparison.Ordinal));
            var (exit, output) = await NodeAsync("read-parquet.js", file);
            Assert.True(exit == 0, output);
            // DuckDB gives its 64-bit count as a string.
            Assert.Equal($"{60 * 100}", JsonDocument.Parse(output).RootElement.GetProperty("rows").ToString());

            // The query docs/tiered-storage.md shows, as written there but for the topic's directory, reads
            // every offloaded message in order.
            var query = DocumentedDuckDbQuery().Replace("data/offload/public/default/persistent/orders",
                Path.Combine(standalone.DataDir, "offload", "public", "default", "persistent", "offloaded"), StringComparison.Ordinal);
            (exit, output) = await NodeAsync("duckdb-query.js", query);
            Assert.True(exit == 0, output);
            var rows = JsonDocument.Parse(output).RootElement.EnumerateArray()
                .Select(r => (long.Parse(r.GetProperty("ledger_id").GetString()!), long.Parse(r.GetProperty("entry_id").GetString()!), r.GetProperty("batch_index").GetInt32()))
                .ToList();
            var offloaded = sent.Where(m => closed.Any(l => l.GetProperty("ledgerId").GetInt64() == m.Id.LedgerId))
                .Select(m => ((long)m.Id.LedgerId, (long)m.Id.EntryId, m.BatchIndex)).ToList();
            Assert.Equal(offloaded.Count, rows.Count);
            Assert.Equal(offloaded, rows);
        }
    }

    /// <summary>The DuckDB query of docs/tiered-storage.md (its one ```sql block).</summary>
    private static string DocumentedDuckDbQuery()
    {
        var doc = File.ReadAllText(Path.Combine(TieredProcess.RepositoryRoot, "docs", "tiered-storage.md"));
        var start = doc.IndexOf("```sql\n", StringComparison.Ordinal) + "```sql\n".Length;
        return doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [Fact]
    public async Task The_namespace_threshold_offloads_closed_ledgers_without_being_asked()
    {
        using var run = await StartAsync("filesystem", "--max-entries-per-ledger", "10", "--maintenance-interval", "1");
        var (http, client) = (run.Http, run.Client);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsync($"/admin/v2/namespaces/{Namespace}/offloadThreshold", Json(0))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsync($"/admin/v2/namespaces/{Namespace}/offloadDeletionLagMs", Json(0))).StatusCode);
        Assert.Equal("0", await http.GetStringAsync($"/admin/v2/namespaces/{Namespace}/offloadThreshold"));
        const string topic = "persistent://public/default/by-threshold";
        var sent = await ProduceAsync(client, topic, batches: 45, perBatch: 10);

        var ledgers = await WaitForLedgersAsync(http, "by-threshold", "the closed ledgers are offloaded and gone from the bookie",
            all => all.SkipLast(1).All(l => l.GetProperty("offloaded").GetBoolean() && l.GetProperty("bookieDeleted").GetBoolean()));
        Assert.Equal(5, ledgers.Count);
        Assert.False(ledgers[^1].GetProperty("offloaded").GetBoolean());
        await AssertConsumedInOrderAsync(client, topic, sent);
    }

    [Fact]
    public async Task A_kill_during_offload_loses_nothing_and_the_next_offload_completes_without_stray_objects()
    {
        using var run = await StartAsync("filesystem", "--max-entries-per-ledger", "4");
        var (standalone, http, client) = (run.Standalone, run.Http, run.Client);
        const string topic = "persistent://public/default/killed-offload";
        var sent = await ProduceAsync(client, topic, batches: 400, perBatch: 10);
        var last = sent[^1].Id;
        var upTo = Json(new { ledgerId = last.LedgerId, entryId = last.EntryId });
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"/admin/v2/namespaces/{Namespace}/offloadDeletionLag", Json(0))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsync("/admin/v2/persistent/public/default/killed-offload/offload", upTo)).StatusCode);
        // Kill once some ledgers are offloaded and others are not.
        var midway = await WaitForLedgersAsync(http, "killed-offload", "three ledgers are offloaded", all => all.Count(l => l.GetProperty("offloaded").GetBoolean()) >= 3);
        Assert.True(midway.Count(l => l.GetProperty("offloaded").GetBoolean()) < midway.Count - 1, "the offload finished before the kill; the test needs more ledgers");
        standalone.Kill();

        // The admin and gRPC clients reach the restarted process on the same ports.
        await standalone.StartAsync();
        await AssertConsumedInOrderAsync(client, topic, sent, subscription: "before");

        Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsync("/admin/v2/persistent/public/default/killed-offload/offload", upTo)).StatusCode);
        Assert.Equal("SUCCESS", (await WaitForOffloadAsync(http, "killed-offload")).GetProperty("status").GetString());
        var all = await LedgersAsync(http, "killed-offload");
        var offloadedIds = all.Where(l => l.GetProperty("offloaded").GetBoolean()).Select(l => l.GetProperty("ledgerId").GetInt64()).ToList();
        Assert.Equal(all.Count - 1, offloadedIds.Count);

        // Exactly one object per offloaded ledger: what the killed run left was deleted, not adopted.
        var objects = Directory.GetFiles(Path.Combine(standalone.DataDir, "offload"), "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName).Where(n => !n!.StartsWith(".tmp-", StringComparison.Ordinal)).ToList();
        Assert.Equal(offloadedIds.Count, objects.Count);
        Assert.All(offloadedIds, id => Assert.Single(objects, o => o!.StartsWith($"ledger-{id}-", StringComparison.Ordinal)));
        await AssertConsumedInOrderAsync(client, topic, sent, subscription: "after");
    }

    [Fact]
    public async Task Bad_offload_requests_get_clear_errors_and_lose_nothing()
    {
        using var run = await StartAsync("filesystem", "--max-entries-per-ledger", "5");
        var (standalone, http, client) = (run.Standalone, run.Http, run.Client);
        const string topic = "persistent://public/default/refusals";
        var sent = await ProduceAsync(client, topic, batches: 20, perBatch: 5);
        var last = sent[^1].Id;
        var upTo = Json(new { ledgerId = last.LedgerId, entryId = last.EntryId });

        var unknown = await http.PutAsync("/admin/v2/persistent/public/default/no-such-topic/offload", upTo);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var threshold = await http.PutAsync($"/admin/v2/namespaces/{Namespace}/offloadThreshold", Json(-2));
        Assert.Equal(HttpStatusCode.BadRequest, threshold.StatusCode);
        Assert.Contains("-1", await threshold.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var badDriver = await http.PostAsync($"/admin/v2/namespaces/{Namespace}/offloadPolicies", Json(new { managedLedgerOffloadDriver = "tape" }));
        Assert.Equal(HttpStatusCode.BadRequest, badDriver.StatusCode);
        Assert.Contains("tape", await badDriver.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PutAsync("/admin/v2/persistent/public/default/refusals/offload", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"))).StatusCode);

        // An endpoint nobody listens on, then a bucket that does not exist: the offload ends in ERROR, saying why.
        var closedPort = TieredProcess.FreePort();
        var missingBucket = $"missing-{Guid.NewGuid():N}"[..20];
        foreach (var (policies, expected) in new (object, string)[]
        {
            (new { managedLedgerOffloadDriver = "aws-s3", managedLedgerOffloadBucket = "b", managedLedgerOffloadServiceEndpoint = $"http://127.0.0.1:{closedPort}", managedLedgerOffloadPathStyleAccess = true }, $"127.0.0.1:{closedPort}"),
            (new { managedLedgerOffloadDriver = "aws-s3", managedLedgerOffloadBucket = missingBucket, managedLedgerOffloadServiceEndpoint = _s3!.Endpoint, managedLedgerOffloadPathStyleAccess = true }, missingBucket),
        })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"/admin/v2/namespaces/{Namespace}/offloadPolicies", Json(policies))).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsync("/admin/v2/persistent/public/default/refusals/offload", upTo)).StatusCode);
            var status = await WaitForOffloadAsync(http, "refusals");
            Assert.Equal("ERROR", status.GetProperty("status").GetString());
            Assert.Contains(expected, status.GetProperty("lastError").GetString(), StringComparison.Ordinal);
            Assert.All(await LedgersAsync(http, "refusals"), l => Assert.False(l.GetProperty("offloaded").GetBoolean()));
        }
        // The command line waits for the same outcome and fails with it.
        var (exit, output) = await TieredProcess.RunAsync(Wait, "admin", "topics", "offload", topic, "--wait", "--admin-url", standalone.AdminUrl);
        Assert.True(exit == 1, output);
        Assert.Contains(missingBucket, output, StringComparison.Ordinal);
        await AssertConsumedInOrderAsync(client, topic, sent);
    }

    [Fact]
    public async Task The_command_line_offloads_a_topic_and_waits_showing_progress()
    {
        using var run = await StartAsync("filesystem", "--max-entries-per-ledger", "5");
        var (standalone, http, client) = (run.Standalone, run.Http, run.Client);
        const string topic = "persistent://public/default/from-the-cli";
        var sent = await ProduceAsync(client, topic, batches: 32, perBatch: 3);

        var (exit, output) = await TieredProcess.RunAsync(Wait, "admin", "topics", "offload", "public/default/from-the-cli", "--wait", "--admin-url", standalone.AdminUrl);
        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS: 6 of 6 closed ledgers offloaded", output, StringComparison.Ordinal);
        Assert.Contains("\"status\": \"SUCCESS\"", output, StringComparison.Ordinal);
        Assert.Equal(6, (await LedgersAsync(http, "from-the-cli")).Count(l => l.GetProperty("offloaded").GetBoolean()));
        await AssertConsumedInOrderAsync(client, topic, sent);
    }

    /// <summary>
    /// A standalone offloading with <paramref name="driver"/> (and <paramref name="options"/>) that keeps
    /// every message, with an admin HTTP client and a gRPC client; both reach it again after a restart.
    /// </summary>
    private async Task<Running> StartAsync(string driver, params string[] options)
    {
        var standalone = NewStandalone(driver, options);
        await standalone.StartAsync();
        var run = new Running(standalone, new HttpClient { BaseAddress = new Uri(standalone.AdminUrl) }, GrpcChannel.ForAddress(standalone.Url));
        await KeepEverythingAsync(run.Http);
        return run;
    }

    private sealed record Running(Standalone Standalone, HttpClient Http, GrpcChannel Channel) : IDisposable
    {
        public Messaging.MessagingClient Client { get; } = new(Channel);

        public void Dispose()
        {
            Channel.Dispose();
            Http.Dispose();
            Standalone.Dispose();
        }
    }

    /// <summary>The topic's ledgers (internalStats) once <paramref name="done"/> holds of them, polling until a deadline.</summary>
    private static async Task<List<JsonElement>> WaitForLedgersAsync(HttpClient http, string topic, string what, Func<List<JsonElement>, bool> done)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var ledgers = await LedgersAsync(http, topic);
            if (done(ledgers))
                return ledgers;
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}: {string.Join(", ", ledgers)}");
            await Task.Delay(20);
        }
    }

    /// <summary>Infinite retention: no subscription consumes the topics, and the broker's periodic trim must not delete what the tests read back.</summary>
    private static async Task KeepEverythingAsync(HttpClient http)
        => Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"/admin/v2/namespaces/{Namespace}/retention", Json(new { retentionTimeInMinutes = -1, retentionSizeInMB = -1 }))).StatusCode);

    private sealed record Sent(MessageId Id, int BatchIndex, string Payload);

    /// <summary>Produces batches of distinct payloads; returns every message with the id its receipt gave it.</summary>
    private static async Task<List<Sent>> ProduceAsync(Messaging.MessagingClient client, string topic, int batches, int perBatch)
    {
        var sent = new List<Sent>(batches * perBatch);
        await using var producer = await RawProducer.OpenAsync(client, topic);
        var all = Enumerable.Range(0, batches).Select(b => RawProducer.Batch(Enumerable.Range(0, perBatch).Select(i => $"m{b * perBatch + i}-{new string('x', (b * 7 + i) % 50)}"))).ToList();
        var answers = await producer.SendAllAsync(all);
        foreach (var (answer, batch) in answers.Zip(all))
        {
            Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, answer.ResponseCase);
            for (var i = 0; i < batch.Messages.Count; i++)
                sent.Add(new Sent(answer.Receipt.MessageId, i, batch.Messages[i].Payload.ToStringUtf8()));
        }
        return sent;
    }

    /// <summary>A new subscription from the earliest message receives exactly <paramref name="sent"/>, in order, with the same ids.</summary>
    private static async Task AssertConsumedInOrderAsync(Messaging.MessagingClient client, string topic, List<Sent> sent, string subscription = "check")
    {
        await using var consumer = await SubscribeAsync(client, topic, subscription);
        await AssertReceivedInOrderAsync(consumer, sent);
    }

    private static Task<RawConsumer> SubscribeAsync(Messaging.MessagingClient client, string topic, string subscription)
        => RawConsumer.SubscribeAsync(client, new Subscribe { Topic = topic, Subscription = subscription, InitialPosition = InitialPosition.Earliest }, permits: 5000);

    private static async Task AssertReceivedInOrderAsync(RawConsumer consumer, List<Sent> sent, bool expectMore = false)
    {
        for (var i = 0; i < sent.Count; i++)
        {
            var message = await consumer.ReceiveAsync(Wait) ?? throw new Xunit.Sdk.XunitException($"Stopped after {i} of {sent.Count} messages: {consumer.EndedWith}");
            var expected = sent[i];
            Assert.Equal((expected.Id.LedgerId, expected.Id.EntryId, expected.BatchIndex, expected.Payload), (message.LedgerId, message.EntryId, message.BatchIndex, message.Payload));
            if (i % 2500 == 2499)
                await consumer.FlowAsync(2500);
        }
        if (!expectMore)
            Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    private static async Task<JsonElement> WaitForOffloadAsync(HttpClient http, string topic)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var status = await http.GetFromJsonAsync<JsonElement>($"/admin/v2/persistent/public/default/{topic}/offload");
            if (status.GetProperty("status").GetString() is not ("RUNNING" or "NOT_RUN"))
                return status;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"The offload of {topic} did not end in time: {status}");
            await Task.Delay(50);
        }
    }

    private static async Task<List<JsonElement>> LedgersAsync(HttpClient http, string topic)
    {
        var stats = await http.GetFromJsonAsync<JsonElement>($"/admin/v2/persistent/public/default/{topic}/internalStats");
        return [.. stats.GetProperty("ledgers").EnumerateArray()];
    }

    private static StringContent Json<T>(T value) => new(JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");

    private static async Task<(int ExitCode, string Output)> NodeAsync(string script, params string[] args)
    {
        var (exit, output, error) = await NodeScript.RunAsync(script, Wait, args);
        return (exit, output + error);
    }
}
