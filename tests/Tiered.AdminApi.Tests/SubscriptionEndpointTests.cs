using System.Net;
using static Tiered.AdminApi.Tests.AdminApiServer;

namespace Tiered.AdminApi.Tests;

public sealed class SubscriptionEndpointTests(AdminApiServer server) : IClassFixture<AdminApiServer>
{
    private HttpClient Http => server.Http;

    private async Task<string> NewTopicAsync()
    {
        var ns = await server.NewNamespaceAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{ns}/events", null));
        return $"{ns}/events";
    }

    [Fact]
    public async Task A_subscription_is_created_at_the_end_or_at_a_message_id_listed_and_deleted()
    {
        var topic = await NewTopicAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{topic}/subscription/latest", null));
        Assert.True(server.Topics.WasCalled($"CreateSubscription persistent://{topic} latest at latest"));
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{topic}/subscription/replay", Json("""{"ledgerId":3,"entryId":0}""")));
        Assert.True(server.Topics.WasCalled($"CreateSubscription persistent://{topic} replay at MessageIdData {{ LedgerId = 3, EntryId = 0, PartitionIndex = -1, BatchIndex = -1 }}"));

        Assert.Equal(["latest", "replay"], Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{topic}/subscriptions"))));
        Assert.Contains("already exists", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{topic}/subscription/latest", null), HttpStatusCode.Conflict));

        await Expect.NoContentAsync(await Http.DeleteAsync($"/admin/v2/persistent/{topic}/subscription/replay?force=true"));
        Assert.True(server.Topics.WasCalled($"DeleteSubscription persistent://{topic} replay force=True"));
        Assert.Equal(["latest"], Expect.Strings(await Expect.OkAsync(await Http.GetAsync($"/admin/v2/persistent/{topic}/subscriptions"))));
        await Expect.ProblemAsync(await Http.DeleteAsync($"/admin/v2/persistent/{topic}/subscription/replay"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_cursor_can_be_reset_by_time_or_message_id_and_skipped()
    {
        var topic = await NewTopicAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{topic}/subscription/work", null));

        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/resetcursor/1700000000000", null));
        Assert.True(server.Topics.WasCalled($"ResetCursor persistent://{topic} work to time 1700000000000"));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/resetcursor", Json("""{"ledgerId":5,"entryId":9,"partitionIndex":-1,"batchIndex":2}""")));
        Assert.True(server.Topics.WasCalled($"ResetCursor persistent://{topic} work to MessageIdData {{ LedgerId = 5, EntryId = 9, PartitionIndex = -1, BatchIndex = 2 }}"));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/skip/10", null));
        Assert.True(server.Topics.WasCalled($"Skip persistent://{topic} work 10"));
        await Expect.NoContentAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/skip_all", null));
        Assert.True(server.Topics.WasCalled($"SkipAll persistent://{topic} work"));
    }

    [Fact]
    public async Task Bad_cursor_moves_are_refused_with_the_reason_before_reaching_the_broker()
    {
        var topic = await NewTopicAsync();
        await Expect.NoContentAsync(await Http.PutAsync($"/admin/v2/persistent/{topic}/subscription/work", null));
        var calls = server.Topics.Calls.Count;

        Assert.Contains("timestamp", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/resetcursor/yesterday", null), HttpStatusCode.BadRequest));
        Assert.Contains("entryId", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/resetcursor", Json("""{"ledgerId":5}""")), HttpStatusCode.BadRequest));
        Assert.Contains("required", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/resetcursor", null), HttpStatusCode.BadRequest));
        Assert.Contains("number of messages", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/work/skip/0", null), HttpStatusCode.BadRequest));
        Assert.Contains("Invalid JSON", await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{topic}/subscription/other", Json("[1,2]")), HttpStatusCode.BadRequest));
        Assert.Equal(calls, server.Topics.Calls.Count);
    }

    [Fact]
    public async Task Moving_an_unknown_subscription_answers_404()
    {
        var topic = await NewTopicAsync();
        Assert.Contains("ghost", await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/ghost/skip_all", null), HttpStatusCode.NotFound));
        await Expect.ProblemAsync(await Http.PostAsync($"/admin/v2/persistent/{topic}/subscription/ghost/skip/1", null), HttpStatusCode.NotFound);
        await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/public/nope/t/subscription/s", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_very_long_subscription_name_is_refused_without_echoing_it_whole()
    {
        var topic = await NewTopicAsync();
        var calls = server.Topics.Calls.Count;
        var name = new string('s', 2_000); // a longer one does not fit Kestrel's 8 KiB request line (414)
        var reason = await Expect.ProblemAsync(await Http.PutAsync($"/admin/v2/persistent/{topic}/subscription/{name}", null), HttpStatusCode.BadRequest);
        Assert.Contains("Invalid subscription name", reason, StringComparison.Ordinal);
        Assert.Contains("(2000 characters)", reason, StringComparison.Ordinal);
        Assert.True(reason.Length < 500, $"the refusal is {reason.Length} characters long");
        Assert.Equal(calls, server.Topics.Calls.Count);
    }
}
