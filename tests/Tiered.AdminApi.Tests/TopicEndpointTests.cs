using System.Net;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

public sealed class TopicEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    [Fact]
    public async Task A_topic_is_created_listed_and_deleted_through_the_broker()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/orders", null));
        Assert.True(server.Topics.WasCalled($"CreateTopic persistent://{ns}/orders"));
        Assert.Equal([$"persistent://{ns}/orders"], Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))));
        Assert.Equal(0, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/orders/partitions"))).GetProperty("partitions").GetInt32());

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/orders"));
        Assert.True(server.Topics.WasCalled($"DeleteTopic persistent://{ns}/orders force=False"));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))));
    }

    [Fact]
    public async Task A_partitioned_topic_is_created_with_its_partitions_and_deleted_with_force()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/wide/partitions", Json("3")));
        Assert.True(server.Topics.WasCalled($"CreatePartitionedTopic persistent://{ns}/wide 3"));
        Assert.Equal([$"persistent://{ns}/wide"], Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/partitioned"))));
        Assert.Equal(3, Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))).Length);
        Assert.Equal(3, (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/wide/partitions"))).GetProperty("partitions").GetInt32());

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/wide/partitions?force=true"));
        Assert.True(server.Topics.WasCalled($"DeletePartitionedTopic persistent://{ns}/wide force=True"));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/partitioned"))));
    }

    [Fact]
    public async Task A_topic_named_partitioned_is_still_a_topic()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/partitioned", null));
        Assert.True(server.Topics.WasCalled($"CreateTopic persistent://{ns}/partitioned"));
    }

    [Fact]
    public async Task Stats_and_internal_stats_come_from_the_broker_in_pulsar_shapes()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/measured", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/measured/subscription/audit", null));

        var stats = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/measured/stats"));
        Assert.Equal(42, stats.GetProperty("msgInCounter").GetInt64());
        Assert.Equal(4200, stats.GetProperty("storageSize").GetInt64());
        Assert.Equal(7, stats.GetProperty("subscriptions").GetProperty("audit").GetProperty("msgBacklog").GetInt64());

        var internalStats = await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/measured/internalStats"));
        Assert.Equal("3:41", internalStats.GetProperty("lastConfirmedEntry").GetString());
        Assert.Equal(3, internalStats.GetProperty("ledgers")[0].GetProperty("ledgerId").GetInt64());
    }

    [Fact]
    public async Task The_brokers_refusals_become_problem_details()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/once", null));
        Assert.Contains("already exists", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/once", null), HttpStatusCode.Conflict));
        Assert.Contains("does not exist", await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/never/stats"), HttpStatusCode.NotFound));

        server.Topics.Busy[$"persistent://{ns}/once"] = true;
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/once"), HttpStatusCode.Conflict);
        Assert.Contains($"persistent://{ns}/once", Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))));
        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/once?force=true"));
    }

    [Fact]
    public async Task Offload_is_triggered_up_to_a_message_or_for_every_closed_ledger_and_its_status_read()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/cold", null));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/cold/offload", Json("""{"ledgerId":7,"entryId":3}""")));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/cold/offload", null));
        Assert.True(server.Topics.WasCalled($"TriggerOffload persistent://{ns}/cold 7:3"));
        Assert.True(server.Topics.WasCalled($"TriggerOffload persistent://{ns}/cold all"));
        Assert.Equal("NOT_RUN", (await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/cold/offload"))).GetProperty("status").GetString());

        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/cold/offload", Json("""{"ledgerId":"seven"}""")), HttpStatusCode.BadRequest);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/never/offload", null), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}/never/offload"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Topics_of_an_unknown_namespace_answer_404_without_asking_the_broker()
    {
        var detail = await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/persistent/public/nope/lost", null), HttpStatusCode.NotFound);
        Assert.Equal("Namespace public/nope does not exist.", detail);
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/persistent/public/nope"), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.GetAsync("/admin/v2/persistent/public/nope/partitioned"), HttpStatusCode.NotFound);
        Assert.DoesNotContain(server.Topics.Calls, call => call.Contains("public/nope", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_topic_names_and_partition_counts_are_refused_with_the_reason()
    {
        var ns = await server.NewNamespaceAsync();
        Assert.Contains("Invalid topic name", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/bad%20topic", null), HttpStatusCode.BadRequest));
        Assert.Contains("Invalid tenant name", await Expect.ProblemAsync(await Http.PutAsync("/admin/v2/persistent/b@d/ns/t", null), HttpStatusCode.BadRequest));
        Assert.Contains("at least 1", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/zero/partitions", Json("0")), HttpStatusCode.BadRequest));
        Assert.Contains("integer", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/words/partitions", Json("{\"partitions\":\"many\"}")), HttpStatusCode.BadRequest));
        Assert.Contains("-partition-", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/t-partition-1/partitions", Json("2")), HttpStatusCode.BadRequest));
        Assert.Contains("?force", await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{ns}/t?force=maybe"), HttpStatusCode.BadRequest));
        Assert.Empty(Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{ns}"))));
        Assert.DoesNotContain(server.Topics.Calls, call => call.StartsWith("Create", StringComparison.Ordinal) && call.Contains(ns, StringComparison.Ordinal));
    }
}
