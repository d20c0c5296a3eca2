using System.Net;
using Grpc.Core;
using Tiered.Broker;
using Tiered.Testing;
using Tiered.V1;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>A real broker with small ledgers (5 entries) and maintenance run only when a test asks, hosting the admin API.</summary>
public sealed class AdminLifecycleFixture : IAsyncLifetime
{
    public LocalBroker Broker { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public string BrokerId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Broker = await LocalBroker.StartAsync(
            options => options with
            {
                MaintenanceInterval = TimeSpan.FromHours(1),
                ManagedLedger = options.ManagedLedger with { MaxEntriesPerLedger = 5 },
            },
            b => b.AddTieredAdminApi());
        BrokerId = new Uri(Broker.AdminUrl).Authority;
        await Broker.Metadata.PutAsync("/admin/clusters/standalone", """{"serviceUrl":"http://127.0.0.1:8080"}"""u8.ToArray());
        Http = new HttpClient { BaseAddress = new Uri(Broker.AdminUrl) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Broker.DisposeAsync();
    }
}

/// <summary>Topic lifecycle endpoints against the real broker: what they change is what producers and consumers see; refusals change nothing.</summary>
public sealed class AdminLifecycleWithBrokerTests(AdminLifecycleFixture fixture) : IClassFixture<AdminLifecycleFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    private Task<string> NewNamespaceAsync() => BrokerSteps.NewNamespaceAsync(Http);

    private Task<List<SendReceipt>> ProduceAsync(string topic, int messages, long publishTimeMs = 0)
        => BrokerSteps.ProduceAsync(fixture.Broker, topic, messages, publishTimeMs);

    private async Task<long> BacklogAsync(string ns, string topic, string subscription)
        => (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/{topic}/stats"))).GetProperty("subscriptions").GetProperty(subscription).GetProperty("msgBacklog").GetInt64();

    [Fact]
    public async Task A_partitioned_topic_grows_with_post_partitions_and_never_shrinks()
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("2")));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("4")));

        Assert.Equal(4, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/wide/partitions"))).GetProperty("partitions").GetInt32());
        Assert.Equal(4, (await fixture.Broker.Client().LookupAsync(new LookupRequest { Topic = $"{ns}/wide" })).Partitions);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => $"persistent://{ns}/wide-partition-{i}"),
            Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/topics"))));
        await ProduceAsync($"persistent://{ns}/wide-partition-3", 2);

        Assert.Contains("only grow", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("3")), HttpStatusCode.Conflict), StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("0")), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("100000")), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ghost/partitions", Json("3")), HttpStatusCode.NotFound);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/plain", null));
        Assert.Contains("not partitioned", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/plain/partitions", Json("3")), HttpStatusCode.Conflict), StringComparison.Ordinal);

        Assert.Equal(4, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/wide/partitions"))).GetProperty("partitions").GetInt32());
        Assert.Equal(0, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/plain/partitions"))).GetProperty("partitions").GetInt32());
        Assert.Equal(5, Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}/topics"))).Length);
    }

    [Fact]
    public async Task Deleting_a_partitioned_topic_by_its_base_name_deletes_it_with_its_partitions()
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("3")));
        await ProduceAsync($"persistent://{ns}/wide-partition-1", 3);

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/wide"));

        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/partitioned"))));
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/wide"), HttpStatusCode.NotFound);
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}"));
    }

    [Fact]
    public async Task Terminating_a_topic_answers_its_last_message_refuses_producers_and_consumers_still_read_to_the_end()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/ending";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/ending", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/ending/subscription/reader", Json("""{"ledgerId":-1,"entryId":-1}""")));

        // A producer publishes while the topic is terminated: every acknowledged message is at or
        // before the answered end, every refused one says why, and a consumer reads exactly the acknowledged ones.
        var call = fixture.Broker.Client().Produce();
        await call.RequestStream.WriteAsync(new ProduceRequest { Open = new OpenProducer { Topic = topic } });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var receipts = new List<SendReceipt>();
        var refusals = new List<string>();
        var reading = Task.Run(async () =>
        {
            try
            {
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                    var answer = call.ResponseStream.Current;
                    if (answer.ResponseCase == ProduceResponse.ResponseOneofCase.Receipt)
                        lock (receipts) receipts.Add(answer.Receipt);
                    else
                        lock (refusals) refusals.Add(answer.Error.Message);
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                lock (refusals) refusals.Add(e.Status.Detail);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
            {
                // The broker ended the call while this side was still sending: HTTP/2 may reset the stream
                // before the client reads the status. What was acknowledged is checked below either way.
            }
        });
        var sending = Task.Run(async () =>
        {
            try
            {
                for (ulong i = 0; i < 2000; i++)
                {
                    var batch = RawProducer.Batch([$"m{i}"]);
                    batch.SequenceId = i;
                    await call.RequestStream.WriteAsync(new ProduceRequest { Send = new SendBatch { SequenceId = i, Batch = batch } });
                }
                await call.RequestStream.CompleteAsync();
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                // The broker closed the stream: the producer was closed by the termination.
            }
        });
        var deadline = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < deadline && receipts.Count < 20)
            await Task.Delay(10);
        var terminated = await Expect.OkAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ending/terminate", null));
        await Task.WhenAll(sending, reading).WaitAsync(Wait);
        call.Dispose();
        var end = (terminated.GetProperty("ledgerId").GetInt64(), terminated.GetProperty("entryId").GetInt64());

        Assert.True(receipts.Count >= 20, $"{receipts.Count} receipts");
        Assert.All(receipts, r => Assert.True((r.MessageId.LedgerId, r.MessageId.EntryId).CompareTo(end) <= 0, $"{r.MessageId} acknowledged after the end {end}"));
        Assert.Contains(receipts, r => (r.MessageId.LedgerId, r.MessageId.EntryId) == end);
        Assert.All(refusals, reason => Assert.Contains("terminated", reason, StringComparison.Ordinal));

        var opening = await Assert.ThrowsAnyAsync<Exception>(() => RawProducer.OpenAsync(fixture.Broker.Client(), topic));
        Assert.Contains("terminated", opening.Message, StringComparison.Ordinal);
        Assert.Equal(end, Position(await Expect.OkAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ending/terminate", null))));

        var read = new List<Received>();
        await using (var consumer = await RawConsumer.SubscribeAsync(fixture.Broker.Client(), new Subscribe { Topic = topic, Subscription = "reader" }, permits: 5000))
        {
            while (read.Count < receipts.Count && await consumer.ReceiveAsync(Wait) is { } message)
                read.Add(message);
            Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
        }
        Assert.Equal(receipts.Select(r => (r.MessageId.LedgerId, r.MessageId.EntryId)), read.Select(m => (m.LedgerId, m.EntryId)));
    }

    [Fact]
    public async Task A_terminated_topic_stays_terminated_after_the_broker_restarts()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/ended";
        var receipts = await ProduceAsync(topic, 3);
        var end = Position(await Expect.OkAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ended/terminate", null)));
        Assert.Equal((receipts[^1].MessageId.LedgerId, receipts[^1].MessageId.EntryId), end);

        await fixture.Broker.RestartAsync();

        var opening = await Assert.ThrowsAnyAsync<Exception>(() => RawProducer.OpenAsync(fixture.Broker.Client(), topic));
        Assert.Contains("terminated", opening.Message, StringComparison.Ordinal);
        Assert.Equal(end, Position(await Expect.OkAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ended/terminate", null))));
    }

    [Fact]
    public async Task Terminate_refuses_unknown_and_partitioned_topics_and_changes_nothing()
    {
        var ns = await NewNamespaceAsync();
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ghost/terminate", null), HttpStatusCode.NotFound);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("2")));
        Assert.Contains("terminate/partitions", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide/terminate", null), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        await ProduceAsync($"persistent://{ns}/wide-partition-0", 1);

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/wide/terminate/partitions", null));
        var opening = await Assert.ThrowsAnyAsync<Exception>(() => RawProducer.OpenAsync(fixture.Broker.Client(), $"persistent://{ns}/wide-partition-1"));
        Assert.Contains("terminated", opening.Message, StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ghost/terminate/partitions", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Expire_messages_acknowledges_what_is_older_than_the_given_seconds_on_one_or_all_subscriptions()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/aging";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/aging", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/aging/subscription/a", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/aging/subscription/b", null));
        await ProduceAsync(topic, 6, publishTimeMs: DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeMilliseconds());
        await ProduceAsync(topic, 4);

        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/aging/subscription/a/expireMessages/-1", null), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/aging/subscription/a/expireMessages/99999999999", null), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/aging/subscription/ghost/expireMessages/60", null), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/ghost/all_subscription/expireMessages/60", null), HttpStatusCode.NotFound);
        Assert.Equal(10, await BacklogAsync(ns, "aging", "a"));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/aging/subscription/a/expireMessages/3600", null));
        Assert.Equal(4, await BacklogAsync(ns, "aging", "a"));
        Assert.Equal(10, await BacklogAsync(ns, "aging", "b"));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/aging/all_subscription/expireMessages/0", null));
        Assert.Equal(0, await BacklogAsync(ns, "aging", "a"));
        Assert.Equal(0, await BacklogAsync(ns, "aging", "b"));
    }

    [Fact]
    public async Task Clearing_a_namespaces_backlog_acknowledges_everything_or_one_subscription_everywhere()
    {
        var ns = await NewNamespaceAsync();
        foreach (var topic in (string[])["one", "two"])
        {
            await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/{topic}", null));
            await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/{topic}/subscription/keep", null));
            await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/{topic}/subscription/drop", null));
            await ProduceAsync($"persistent://{ns}/{topic}", 3);
        }
        await Expect.ProblemAsync(await Http.PostAsync("/admin/v2/namespaces/public/nope/clearBacklog", null), HttpStatusCode.NotFound);
        Assert.Equal(3, await BacklogAsync(ns, "one", "drop"));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/clearBacklog/drop", null));
        long[] backlogs = [await BacklogAsync(ns, "one", "drop"), await BacklogAsync(ns, "two", "drop"), await BacklogAsync(ns, "one", "keep"), await BacklogAsync(ns, "two", "keep")];
        Assert.Equal([0L, 0L, 3L, 3L], backlogs);

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/clearBacklog", null));
        backlogs = [await BacklogAsync(ns, "one", "keep"), await BacklogAsync(ns, "two", "keep")];
        Assert.Equal([0L, 0L], backlogs);
    }

    [Fact]
    public async Task Reset_cursor_to_a_message_id_the_topic_does_not_hold_is_refused_and_the_subscription_stays()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/held";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/held", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/held/subscription/s", null));
        var receipts = await ProduceAsync(topic, 7);
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/held/subscription/s/skip/2", null));
        var first = receipts[0].MessageId;

        foreach (var id in (string[])["""{"ledgerId":999999,"entryId":0}""", $$"""{"ledgerId":{{first.LedgerId}},"entryId":4242}"""])
        {
            var detail = await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/held/subscription/s/resetcursor", Json(id)), HttpStatusCode.BadRequest);
            Assert.Contains("does not exist", detail, StringComparison.Ordinal);
            Assert.Contains($"{first.LedgerId}:0", detail, StringComparison.Ordinal);
            Assert.Equal(5, await BacklogAsync(ns, "held", "s"));
        }

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/held/subscription/s/resetcursor", Json($$"""{"ledgerId":{{receipts[6].MessageId.LedgerId}},"entryId":{{receipts[6].MessageId.EntryId}}}""")));
        Assert.Equal(1, await BacklogAsync(ns, "held", "s"));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/held/subscription/s/resetcursor", Json("""{"ledgerId":-1,"entryId":-1}""")));
        Assert.Equal(7, await BacklogAsync(ns, "held", "s"));
    }

    private static (long, long) Position(System.Text.Json.JsonElement id) => (id.GetProperty("ledgerId").GetInt64(), id.GetProperty("entryId").GetInt64());
}
