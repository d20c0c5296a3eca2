using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Tiered.Testing;
using Tiered.V1;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>Peek, examine, get-by-id, lastMessageId and partitioned stats against the real broker, through REST and `tiered admin`.</summary>
public sealed class MessageEndpointTests(AdminBrokerFixture fixture) : IClassFixture<AdminBrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    private Task<string> NewNamespaceAsync() => BrokerSteps.NewNamespaceAsync(Http);

    /// <summary>A batch of three messages with a key, properties and an event time, then a single message: ids of both entries.</summary>
    private async Task<(MessageId Batch, MessageId Single)> ProduceAsync(string topic)
    {
        var batch = new MessageBatch { FormatVersion = 1, ProducerName = "writer", PublishTimeMs = 1_700_000_000_123 };
        for (var i = 0; i < 3; i++)
        {
            var message = new Message { Payload = ByteString.CopyFromUtf8($"a{i}"), Key = "order-7", EventTimeMs = 1_600_000_000_000 };
            message.Properties.Add("color", "red");
            message.Properties.Add("città", "Torino");
            batch.Messages.Add(message);
        }
        // The broker stores a batch under the name of the producer stream it came on.
        await using var producer = await RawProducer.OpenAsync(fixture.Broker.Client(), topic, "writer");
        var answers = await producer.SendAllAsync([batch, RawProducer.Batch(["b0"])]);
        Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
        return (answers[0].Receipt.MessageId, answers[1].Receipt.MessageId);
    }

    private static string Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : throw new Xunit.Sdk.XunitException($"No {name} header; headers: {response.Headers}");

    private static async Task<string> BodyAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task Peek_counts_the_messages_of_batches_skips_what_was_acknowledged_and_answers_pulsar_headers()
    {
        var ns = await NewNamespaceAsync();
        var path = $"/admin/v2/persistent/{ns}/orders";
        await Expect.NoContentAsync(await Http.PutAsync(path, null));
        await Expect.NoContentAsync(await Http.PutAsync($"{path}/subscription/audit", null));
        var (batch, single) = await ProduceAsync($"persistent://{ns}/orders");

        using (var first = await Http.GetAsync($"{path}/subscription/audit/position/1"))
        {
            Assert.Equal("a0", await BodyAsync(first));
            Assert.Equal($"{batch.LedgerId}:{batch.EntryId}:-1:0", Header(first, "X-Pulsar-Message-ID"));
            Assert.Equal("3", Header(first, "X-Pulsar-num-batch-message"));
            Assert.Equal("2023-11-14T22:13:20.123Z", Header(first, "X-Pulsar-publish-time"));
            Assert.Equal("2020-09-13T12:26:40.000Z", Header(first, "X-Pulsar-event-time"));
            Assert.Equal("writer", Header(first, "X-Pulsar-producer-name"));
            Assert.Equal("0", Header(first, "X-Pulsar-sequence-id"));
            Assert.Equal("order-7", Header(first, "X-Pulsar-partition-key"));
            Assert.Equal("red", Header(first, "X-Pulsar-PROPERTY-color"));
            var properties = JsonSerializer.Deserialize<Dictionary<string, string>>(Header(first, "X-Pulsar-Property"))!;
            Assert.Equal("Torino", properties["città"]);
        }
        Assert.Equal("2", Header(await Http.GetAsync($"{path}/subscription/audit/position/3"), "X-Pulsar-sequence-id"));
        using (var fourth = await Http.GetAsync($"{path}/subscription/audit/position/4"))
        {
            Assert.Equal("b0", await BodyAsync(fourth));
            Assert.Equal($"{single.LedgerId}:{single.EntryId}:-1", Header(fourth, "X-Pulsar-Message-ID"));
            Assert.Equal("1", Header(fourth, "X-Pulsar-num-batch-message"));
            // Sequence ids count messages: the three of the first batch were 0–2.
            Assert.Equal("3", Header(fourth, "X-Pulsar-sequence-id"));
        }

        // Peeking acknowledges nothing; acknowledging a0 moves position 1 to a1.
        await using (var consumer = await RawConsumer.SubscribeAsync(fixture.Broker.Client(), new Subscribe { Topic = $"persistent://{ns}/orders", Subscription = "audit" }))
        {
            var received = await consumer.ReceiveAsync(Wait) ?? throw new Xunit.Sdk.XunitException("a0 was not delivered.");
            Assert.Equal("a0", received.Payload);
            Assert.Equal("", await consumer.AckAsync([received]));
        }
        Assert.Equal("a1", await BodyAsync(await Http.GetAsync($"{path}/subscription/audit/position/1")));
        Assert.Equal("b0", await BodyAsync(await Http.GetAsync($"{path}/subscription/audit/position/3")));

        Assert.Contains("fewer than 4", await Expect.ProblemAsync(await Http.GetAsync($"{path}/subscription/audit/position/4"), HttpStatusCode.NotFound), StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/subscription/audit/position/0"), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/subscription/audit/position/first"), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/subscription/nobody/position/1"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/never/subscription/audit/position/1"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Examine_get_by_id_and_last_message_id_find_messages_from_either_end_and_refuse_what_does_not_exist()
    {
        var ns = await NewNamespaceAsync();
        var path = $"/admin/v2/persistent/{ns}/events";
        await Expect.NoContentAsync(await Http.PutAsync(path, null));
        var empty = await Expect.OkAsync(await Http.GetAsync($"{path}/lastMessageId"));
        Assert.Equal(-1, empty.GetProperty("entryId").GetInt64());
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/examinemessage?initialPosition=earliest&messagePosition=1"), HttpStatusCode.NotFound);

        var (batch, single) = await ProduceAsync($"persistent://{ns}/events");

        Assert.Equal("a0", await BodyAsync(await Http.GetAsync($"{path}/examinemessage?initialPosition=earliest&messagePosition=1")));
        Assert.Equal("b0", await BodyAsync(await Http.GetAsync($"{path}/examinemessage?initialPosition=earliest&messagePosition=4")));
        Assert.Equal("b0", await BodyAsync(await Http.GetAsync($"{path}/examinemessage")));
        using (var second = await Http.GetAsync($"{path}/examinemessage?initialPosition=latest&messagePosition=2"))
        {
            Assert.Equal("a2", await BodyAsync(second));
            Assert.Equal($"{batch.LedgerId}:{batch.EntryId}:-1:2", Header(second, "X-Pulsar-Message-ID"));
        }
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/examinemessage?initialPosition=earliest&messagePosition=5"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/examinemessage?initialPosition=middle"), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/examinemessage?messagePosition=0"), HttpStatusCode.BadRequest);

        var entry = $"{path}/ledger/{batch.LedgerId}/entry/{batch.EntryId}";
        Assert.Equal("a0", await BodyAsync(await Http.GetAsync(entry)));
        Assert.Equal("a2", await BodyAsync(await Http.GetAsync($"{entry}?batchIndex=2")));
        Assert.Equal("b0", await BodyAsync(await Http.GetAsync($"{path}/ledger/{single.LedgerId}/entry/{single.EntryId}")));
        await Expect.ProblemAsync(await Http.GetAsync($"{entry}?batchIndex=3"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/ledger/{single.LedgerId}/entry/{single.EntryId + 1}"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/ledger/{batch.LedgerId + 1000}/entry/0"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/ledger/-1/entry/0"), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/never/ledger/1/entry/0"), HttpStatusCode.NotFound);

        var last = await Expect.OkAsync(await Http.GetAsync($"{path}/lastMessageId"));
        Assert.Equal((single.LedgerId, single.EntryId, -1), (last.GetProperty("ledgerId").GetInt64(), last.GetProperty("entryId").GetInt64(), last.GetProperty("batchIndex").GetInt32()));
        await using (var producer = await RawProducer.OpenAsync(fixture.Broker.Client(), $"persistent://{ns}/events"))
            await producer.SendAllAsync([RawProducer.Batch(["c0", "c1"])]);
        last = await Expect.OkAsync(await Http.GetAsync($"{path}/lastMessageId"));
        Assert.Equal((single.EntryId + 1, 1), (last.GetProperty("entryId").GetInt64(), last.GetProperty("batchIndex").GetInt32()));
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/never/lastMessageId"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Partitioned_stats_sum_the_partitions_and_list_each_on_request()
    {
        var ns = await NewNamespaceAsync();
        var path = $"/admin/v2/persistent/{ns}/wide";
        await Expect.NoContentAsync(await Http.PutAsync($"{path}/partitions", Json("2")));
        await Expect.NoContentAsync(await Http.PutAsync($"{path}/subscription/s", null));
        await using (var producer = await RawProducer.OpenAsync(fixture.Broker.Client(), $"persistent://{ns}/wide-partition-0"))
            await producer.SendAllAsync([RawProducer.Batch(["x", "y", "z"])]);
        await using (var producer = await RawProducer.OpenAsync(fixture.Broker.Client(), $"persistent://{ns}/wide-partition-1"))
            await producer.SendAllAsync([RawProducer.Batch(["p"]), RawProducer.Batch(["q"])]);

        var stats = await Expect.OkAsync(await Http.GetAsync($"{path}/partitioned-stats"));
        Assert.Equal(5, stats.GetProperty("msgInCounter").GetInt64());
        Assert.Equal(2, stats.GetProperty("metadata").GetProperty("partitions").GetInt32());
        Assert.Equal(5, stats.GetProperty("subscriptions").GetProperty("s").GetProperty("msgBacklog").GetInt64());
        Assert.Equal(3, stats.GetProperty("subscriptions").GetProperty("s").GetProperty("backlogEntries").GetInt64());
        var partitions = stats.GetProperty("partitions");
        Assert.Equal(3, partitions.GetProperty($"persistent://{ns}/wide-partition-0").GetProperty("subscriptions").GetProperty("s").GetProperty("msgBacklog").GetInt64());
        Assert.Equal(2, partitions.GetProperty($"persistent://{ns}/wide-partition-1").GetProperty("msgInCounter").GetInt64());

        var summed = await Expect.OkAsync(await Http.GetAsync($"{path}/partitioned-stats?perPartition=false"));
        Assert.Empty(summed.GetProperty("partitions").EnumerateObject());
        Assert.Equal(5, summed.GetProperty("msgInCounter").GetInt64());

        var internalStats = await Expect.OkAsync(await Http.GetAsync($"{path}/partitioned-internalStats"));
        Assert.Equal(2, internalStats.GetProperty("partitions").GetProperty($"persistent://{ns}/wide-partition-1").GetProperty("numberOfEntries").GetInt64());

        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/narrow", null));
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/narrow/partitioned-stats"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/narrow/partitioned-internalStats"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/partitioned-stats?perPartition=maybe"), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.GetAsync($"{path}/subscription/s/position/1"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_openapi_document_lists_the_message_and_partitioned_stats_routes()
    {
        var openApi = await Http.GetStringAsync("/admin/v2/openapi.json");
        foreach (var route in new[]
        {
            "/{topic}/partitioned-stats", "/{topic}/partitioned-internalStats", "/{topic}/subscription/{subscription}/position/{messagePosition}",
            "/{topic}/examinemessage", "/{topic}/ledger/{ledgerId}/entry/{entryId}", "/{topic}/lastMessageId",
        })
            Assert.Contains($"/admin/v2/persistent/{{tenant}}/{{namespace}}{route}", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tiered_admin_peeks_examines_and_reads_messages_by_id()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/cli";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/cli", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/cli/subscription/audit", null));
        var (batch, _) = await ProduceAsync(topic);

        using (var peeked = JsonDocument.Parse(await TieredAsync(0, "topics", "peek", topic, "-s", "audit", "-n", "10")))
        {
            Assert.Equal(["a0", "a1", "a2", "b0"], peeked.RootElement.EnumerateArray().Select(m => m.GetProperty("payload").GetString()));
            Assert.Equal("3", peeked.RootElement[0].GetProperty("headers").GetProperty("X-Pulsar-num-batch-message").GetString());
        }
        using (var examined = JsonDocument.Parse(await TieredAsync(0, "topics", "examine", topic, "--initial-position", "earliest", "--position", "2")))
            Assert.Equal("a1", examined.RootElement[0].GetProperty("payload").GetString());
        using (var byId = JsonDocument.Parse(await TieredAsync(0, "topics", "get-message", topic, "-l", $"{batch.LedgerId}", "-e", $"{batch.EntryId}", "-b", "2")))
            Assert.Equal("a2", byId.RootElement[0].GetProperty("payload").GetString());
        using (var last = JsonDocument.Parse(await TieredAsync(0, "topics", "last-message-id", topic)))
            Assert.Equal(batch.EntryId + 1, last.RootElement.GetProperty("entryId").GetInt64());
        Assert.Contains("Subscription nobody does not exist", await TieredAsync(1, "topics", "peek", topic, "-s", "nobody"), StringComparison.Ordinal);
        Assert.Contains("--per-partition", await TieredAsync(0, "topics", "partitioned-stats", "--help"), StringComparison.Ordinal);
        foreach (var command in new[] { "peek", "examine", "get-message", "last-message-id", "partitioned-internal-stats" })
            Assert.Contains("Usage:", await TieredAsync(0, "topics", command, "--help"), StringComparison.Ordinal);
        Assert.Contains("--position", await TieredAsync(2, "topics", "examine", topic, "--position", "0"), StringComparison.Ordinal);
    }

    private async Task<string> TieredAsync(int expectedExitCode, params string[] args)
    {
        var (exitCode, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60), ["admin", .. args, "--admin-url", fixture.Broker.AdminUrl]);
        Assert.True(exitCode == expectedExitCode, $"tiered admin {string.Join(' ', args)} exited with {exitCode}, expected {expectedExitCode}:\n{output}");
        return output;
    }
}
