using Tiered.Testing;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

/// <summary>`tiered consume` (the real CLI, a child process) against the test double, which records every ack request.</summary>
public class CliConsumeTests
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Consume_acknowledges_a_backlog_in_batches_rather_than_one_request_per_message()
    {
        await using var broker = await FakeBroker.StartAsync();
        var log = broker.Topic("backlog");
        for (var b = 0; b < 20; b++)
            log.Append(Batch("p", (ulong)b * 50, [.. Enumerable.Range(b * 50, 50).Select(i => $"m{i}")]));

        var (code, output) = await TieredProcess.RunAsync(Run, "consume", "backlog", "--subscription", "s", "--from", "earliest", "--count", "1000", "--url", broker.Url);

        Assert.True(code == 0, output);
        Assert.Contains("m0", output, StringComparison.Ordinal);
        Assert.Contains("m999", output, StringComparison.Ordinal);
        List<V1.Ack> acks;
        lock (broker.Acks)
            acks = [.. broker.Acks];
        // Every message acknowledged exactly once, in far fewer requests than messages (it was one each).
        var ids = acks.SelectMany(a => a.MessageIds).Select(id => (id.EntryId, id.BatchIndex)).ToList();
        Assert.Equal(1000, ids.Count);
        Assert.Equal(1000, ids.Distinct().Count());
        Assert.InRange(acks.Count, 10, 100);
        var subscription = broker.Subscription("backlog", "s");
        Assert.True(subscription.IsAcked(0, 0) && subscription.IsAcked(19, 49));
    }
}
