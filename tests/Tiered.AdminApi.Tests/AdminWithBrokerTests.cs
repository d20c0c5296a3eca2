using System.Net;
using Tiered.Broker;
using Tiered.Testing;
using Tiered.V1;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>A real broker (with its metadata service and bookie) hosting the admin API, as standalone does.</summary>
public sealed class AdminBrokerFixture : IAsyncLifetime
{
    public LocalBroker Broker { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Broker = await LocalBroker.StartAsync(roles: b => b.AddTieredAdminApi());
        await Broker.Metadata.PutAsync("/admin/clusters/standalone", """{"serviceUrl":"http://127.0.0.1:8080"}"""u8.ToArray());
        Http = new HttpClient { BaseAddress = new Uri(Broker.AdminUrl) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Broker.DisposeAsync();
    }
}

/// <summary>The topic and subscription endpoints against the real broker: what they change is what producers and consumers see.</summary>
public sealed class AdminWithBrokerTests(AdminBrokerFixture fixture) : IClassFixture<AdminBrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    private Task<string> NewNamespaceAsync() => BrokerSteps.NewNamespaceAsync(Http);

    private Task ProduceAsync(string topic, int messages) => BrokerSteps.ProduceAsync(fixture.Broker, topic, messages);

    [Fact]
    public async Task Health_answers_ok_and_the_openapi_document_lists_the_topic_endpoints()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/admin/v2/brokers/health")).StatusCode);
        var openApi = await Http.GetStringAsync("/admin/v2/openapi.json");
        Assert.Contains("/admin/v2/persistent/{tenant}/{namespace}/{topic}/stats", openApi, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partitioned_topic_created_by_rest_is_looked_up_with_its_partitions_and_deleted_with_them()
    {
        var ns = await NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("3")));
        var lookup = await fixture.Broker.Client().LookupAsync(new LookupRequest { Topic = $"{ns}/wide" });
        Assert.Equal(3, lookup.Partitions);
        Assert.Equal(Enumerable.Range(0, 3).Select(i => $"persistent://{ns}/wide-partition-{i}"),
            Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))));
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("3")), HttpStatusCode.Conflict);

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/wide/partitions"));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))));
        Assert.Equal(0, (await fixture.Broker.Client().LookupAsync(new LookupRequest { Topic = $"{ns}/wide" })).Partitions);
    }

    [Fact]
    public async Task Stats_show_the_backlog_and_skip_reset_and_clear_move_the_subscription()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/orders";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/orders", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/orders/subscription/audit", null));
        await ProduceAsync(topic, 10);

        var stats = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/stats"));
        Assert.Equal(10, stats.GetProperty("msgInCounter").GetInt64());
        Assert.Equal(10, stats.GetProperty("subscriptions").GetProperty("audit").GetProperty("msgBacklog").GetInt64());

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/orders/subscription/audit/skip/4", null));
        Assert.Equal(6, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/stats"))).GetProperty("subscriptions").GetProperty("audit").GetProperty("msgBacklog").GetInt64());

        var internalStats = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/internalStats"));
        Assert.Equal(10, internalStats.GetProperty("numberOfEntries").GetInt64());
        var markDelete = internalStats.GetProperty("cursors").GetProperty("audit").GetProperty("markDeletePosition").GetString()!;
        Assert.EndsWith(":3", markDelete, StringComparison.Ordinal);

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/orders/subscription/audit/resetcursor/0", null));
        Assert.Equal(10, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/stats"))).GetProperty("subscriptions").GetProperty("audit").GetProperty("msgBacklog").GetInt64());

        // The consumer sees what the reset left: everything from the first message.
        await using (var consumer = await RawConsumer.SubscribeAsync(fixture.Broker.Client(), new Subscribe { Topic = topic, Subscription = "audit" }))
            Assert.Equal("m0", (await consumer.ReceiveAsync(Wait))?.Payload);

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/orders/subscription/audit/skip_all", null));
        Assert.Equal(0, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/stats"))).GetProperty("subscriptions").GetProperty("audit").GetProperty("msgBacklog").GetInt64());
        Assert.Equal(["audit"], Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/subscriptions"))));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/orders/subscription/audit"));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/subscriptions"))));
    }

    [Fact]
    public async Task Deleting_a_topic_in_use_or_a_namespace_with_topics_is_refused_and_changes_nothing()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/busy";
        await ProduceAsync(topic, 3);
        await using (var consumer = await RawConsumer.SubscribeAsync(fixture.Broker.Client(), new Subscribe { Topic = topic, Subscription = "s", InitialPosition = InitialPosition.Earliest }))
        {
            var detail = await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/busy"), HttpStatusCode.Conflict);
            Assert.Contains("connected", detail, StringComparison.Ordinal);
            Assert.Equal("m0", (await consumer.ReceiveAsync(Wait))?.Payload);
        }
        var refused = await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}"), HttpStatusCode.Conflict);
        Assert.Contains("busy", refused, StringComparison.Ordinal);
        Assert.Equal(3, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/busy/internalStats"))).GetProperty("numberOfEntries").GetInt64());

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/busy"));
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/busy/stats"), HttpStatusCode.NotFound);
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/namespaces/{ns}"));
    }

    [Fact]
    public async Task Unknown_topics_and_subscriptions_are_404_with_a_reason()
    {
        var ns = await NewNamespaceAsync();
        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/ghost/stats"), HttpStatusCode.NotFound), StringComparison.Ordinal);
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/real", null));
        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/real/subscription/ghost/skip_all", null), HttpStatusCode.NotFound), StringComparison.Ordinal);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/bad%20name", null), HttpStatusCode.BadRequest);
    }
}
