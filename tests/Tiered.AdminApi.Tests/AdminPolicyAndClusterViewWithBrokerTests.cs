using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Grpc.Net.Client;
using Tiered.Testing;
using Tiered.V1;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>Policy ranges and the cluster view against the real broker of <see cref="AdminLifecycleFixture"/>.</summary>
public sealed class AdminPolicyAndClusterViewWithBrokerTests(AdminLifecycleFixture fixture) : IClassFixture<AdminLifecycleFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    private Task<string> NewNamespaceAsync() => BrokerSteps.NewNamespaceAsync(Http);

    private Task ProduceAsync(string topic, int messages) => BrokerSteps.ProduceAsync(fixture.Broker, topic, messages);

    [Fact]
    public async Task A_retention_size_too_large_is_refused_and_a_stored_one_never_deletes_retained_data()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/kept";
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention",
            Json("""{"retentionTimeInMinutes":-1,"retentionSizeInMB":17592186044416}""")), HttpStatusCode.BadRequest);
        var policies = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"));
        Assert.True(!policies.TryGetProperty("retention_policies", out var r) || r.ValueKind == System.Text.Json.JsonValueKind.Null, policies.ToString());

        // Unlimited retention meanwhile, so that the broker's own maintenance passes trim nothing before the check below.
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention", Json("""{"retentionTimeInMinutes":-1,"retentionSizeInMB":-1}""")));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/kept", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/kept/subscription/s", null));
        await ProduceAsync(topic, 12);
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/kept/subscription/s/skip_all", null));
        var ledgersBefore = (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/kept/internalStats"))).GetProperty("ledgers").GetArrayLength();
        Assert.True(ledgersBefore >= 3, $"{ledgersBefore} ledgers");

        // A value stored before this check (or by another tool) must fail the pass, not wrap to 0 bytes and delete.
        var key = $"/admin/policies/{ns}";
        var stored = System.Text.Json.Nodes.JsonNode.Parse((await fixture.Broker.Metadata.GetAsync(key))!.Value.ToStringUtf8())!.AsObject();
        stored["retention_policies"] = System.Text.Json.Nodes.JsonNode.Parse("""{"retentionTimeInMinutes":-1,"retentionSizeInMB":17592186044416}""");
        await fixture.Broker.Metadata.PutAsync(key, System.Text.Encoding.UTF8.GetBytes(stored.ToJsonString()));
        await fixture.Broker.Server.Topics.RunMaintenanceAsync(CancellationToken.None);
        Assert.Equal(ledgersBefore, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/kept/internalStats"))).GetProperty("ledgers").GetArrayLength());
        await using var consumer = await RawConsumer.SubscribeAsync(fixture.Broker.Client(), new Subscribe { Topic = topic, Subscription = "late", InitialPosition = InitialPosition.Earliest });
        Assert.Equal("m0", (await consumer.ReceiveAsync(Wait))?.Payload);
    }

    [Fact]
    public async Task The_cluster_view_lists_this_broker_and_the_registered_bookie_with_its_state()
    {
        Assert.Equal([fixture.BrokerId], Expect.Strings(await Expect.OkAsync(await Http.GetAsync("/admin/v2/brokers/standalone"))));
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/brokers/nowhere"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/brokers/bad%20name"), HttpStatusCode.BadRequest);

        var registered = await fixture.Broker.Metadata.ListChildrenAsync("/bookies/available");
        Assert.Single(registered);
        var all = await Expect.OkAsync(await Http.GetAsync("/admin/v2/bookies/all"));
        var bookie = Assert.Single(all.GetProperty("bookies").EnumerateArray());
        Assert.Equal(registered[0], bookie.GetProperty("bookieId").GetString());
        Assert.Equal("writable", bookie.GetProperty("state").GetString());

        var racks = await Expect.OkAsync(await Http.GetAsync("/admin/v2/bookies/racks-info"));
        var info = racks.GetProperty("default").GetProperty(registered[0]);
        Assert.Equal("/default-rack", info.GetProperty("rack").GetString());
        Assert.Equal("writable", info.GetProperty("state").GetString());
    }

    [Fact]
    public async Task Bookies_all_reports_the_disk_space_and_ledgers_the_bookie_reports_about_itself()
    {
        var id = Assert.Single(await fixture.Broker.Metadata.ListChildrenAsync("/bookies/available"));
        using var channel = GrpcChannel.ForAddress($"http://{id}");
        var own = new Tiered.Bookie.V1.Bookie.BookieClient(channel);
        var before = await own.InfoAsync(new Tiered.Bookie.V1.InfoRequest());
        var all = await Expect.OkAsync(await Http.GetAsync("/admin/v2/bookies/all"));
        var after = await own.InfoAsync(new Tiered.Bookie.V1.InfoRequest());

        var bookie = Assert.Single(all.GetProperty("bookies").EnumerateArray());
        Assert.Equal(id, bookie.GetProperty("bookieId").GetString());
        Assert.Equal("writable", bookie.GetProperty("state").GetString());
        Assert.True(bookie.GetProperty("reachable").GetBoolean(), bookie.ToString());
        Assert.Equal(JsonValueKind.Null, bookie.GetProperty("error").ValueKind);
        var (free, used, total) = (bookie.GetProperty("freeSpace").GetInt64(), bookie.GetProperty("usedSpace").GetInt64(), bookie.GetProperty("totalSpace").GetInt64());
        Assert.True(free > 0 && used > 0, bookie.ToString());
        // The disk's size does not change; what is free moves with every writer on it, so the answer lies between the bookie's own two.
        Assert.Equal(before.DiskUsedBytes + before.DiskFreeBytes, total);
        Assert.Equal(total, used + free);
        const long Slack = 64L << 20;
        Assert.InRange(free, Math.Min(before.DiskFreeBytes, after.DiskFreeBytes) - Slack, Math.Max(before.DiskFreeBytes, after.DiskFreeBytes) + Slack);
        Assert.Equal(after.LedgerCount, bookie.GetProperty("ledgerCount").GetInt64());
    }

    [Fact]
    public async Task A_registered_bookie_that_does_not_answer_is_listed_as_unreachable_and_the_list_answers_within_the_timeout()
    {
        // One registration at a closed port (connection refused) and three at ports that accept TCP but never speak:
        // asked one after another they would take three timeouts.
        var closed = $"127.0.0.1:{LocalMetadata.FreePort()}";
        var silent = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        silent.ForEach(l => l.Start());
        var silentIds = silent.Select(l => $"127.0.0.1:{((IPEndPoint)l.LocalEndpoint).Port}").ToList();
        var keys = silentIds.Select(id => $"/bookies/readonly/{id}").Append($"/bookies/available/{closed}").ToList();
        try
        {
            foreach (var key in keys)
                await fixture.Broker.Metadata.PutAsync(key, System.Text.Encoding.UTF8.GetBytes(key[(key.LastIndexOf('/') + 1)..]));

            var watch = Stopwatch.StartNew();
            var all = await Expect.OkAsync(await Http.GetAsync("/admin/v2/bookies/all"));
            watch.Stop();
            var timeout = new AdminApiOptions().BookieInfoTimeout;
            Assert.True(watch.Elapsed < 2 * timeout, $"GET /bookies/all took {watch.Elapsed} with 3 silent bookies and a {timeout} timeout");

            var bookies = all.GetProperty("bookies").EnumerateArray().ToDictionary(b => b.GetProperty("bookieId").GetString()!);
            Assert.Equal(5, bookies.Count);
            Assert.Single(bookies.Values, b => b.GetProperty("reachable").GetBoolean());
            foreach (var id in silentIds.Append(closed))
            {
                var bookie = bookies[id];
                Assert.False(bookie.GetProperty("reachable").GetBoolean(), bookie.ToString());
                Assert.Equal(id == closed ? "writable" : "read-only", bookie.GetProperty("state").GetString());
                foreach (var field in new[] { "freeSpace", "usedSpace", "totalSpace", "ledgerCount" })
                    Assert.Equal(JsonValueKind.Null, bookie.GetProperty(field).ValueKind);
                Assert.StartsWith("No answer", bookie.GetProperty("error").GetString());
            }
            Assert.Contains("within 2 s", bookies[silentIds[0]].GetProperty("error").GetString());
        }
        finally
        {
            foreach (var key in keys)
                await fixture.Broker.Metadata.DeleteAsync(key);
            silent.ForEach(l => l.Stop());
        }
    }
}
