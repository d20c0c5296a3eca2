using System.Net;
using Tiered.Testing;
using Tiered.V1;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

/// <summary>Policy ranges and the cluster view against the real broker of <see cref="AdminLifecycleFixture"/>.</summary>
public sealed class AdminPolicyAndClusterViewWithBrokerTests(AdminLifecycleFixture fixture) : IClassFixture<AdminLifecycleFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private HttpClient Http => fixture.Http;

    private async Task<string> NewNamespaceAsync()
    {
        var ns = $"public/ns-{Guid.NewGuid():N}";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/namespaces/{ns}", null));
        return ns;
    }

    private async Task ProduceAsync(string topic, int messages)
    {
        await using var producer = await RawProducer.OpenAsync(fixture.Broker.Client(), topic);
        var answers = await producer.SendAllAsync(Enumerable.Range(0, messages).Select(i => RawProducer.Batch([$"m{i}"])));
        Assert.All(answers, a => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, a.ResponseCase));
    }

    [Fact]
    public async Task A_retention_size_too_large_is_refused_and_a_stored_one_never_deletes_retained_data()
    {
        var ns = await NewNamespaceAsync();
        var topic = $"persistent://{ns}/kept";
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/kept", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/kept/subscription/s", null));
        await ProduceAsync(topic, 12);
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{ns}/kept/subscription/s/skip_all", null));
        var ledgersBefore = (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/kept/internalStats"))).GetProperty("ledgers").GetArrayLength();
        Assert.True(ledgersBefore >= 3, $"{ledgersBefore} ledgers");

        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/namespaces/{ns}/retention",
            Json("""{"retentionTimeInMinutes":-1,"retentionSizeInMB":17592186044416}""")), HttpStatusCode.BadRequest);
        var policies = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/namespaces/{ns}"));
        Assert.True(!policies.TryGetProperty("retention_policies", out var r) || r.ValueKind == System.Text.Json.JsonValueKind.Null, policies.ToString());

        // A value stored before this check (or by another tool) must fail the pass, not wrap to 0 bytes and delete.
        var key = $"/admin/policies/{ns}";
        var stored = (await fixture.Broker.Metadata.GetAsync(key))!.Value.ToStringUtf8();
        await fixture.Broker.Metadata.PutAsync(key, System.Text.Encoding.UTF8.GetBytes(stored.TrimEnd('}') + ""","retention_policies":{"retentionTimeInMinutes":-1,"retentionSizeInMB":17592186044416}}"""));
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
}
