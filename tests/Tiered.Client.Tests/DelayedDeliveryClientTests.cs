using Tiered.Testing;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

/// <summary>SendDelayedAsync and `tiered produce --deliver-after/--deliver-at`: the deliver time in the stored message, one time per batch.</summary>
public class DelayedDeliveryClientTests
{
    private static readonly TimeSpan Run = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_batch_holds_only_messages_due_at_the_same_time()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.HoldReceipts = true;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("delayed"));
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_900_000_000_000);

        var first = producer.SendAsync(Text("m0")).AsTask();
        await Eventually.WaitUntilAsync(() => broker.SendsSnapshot().Count == 1, "the first message is sent alone");
        // Gathered while the first batch is in flight: now, now, at, at, at+1 ms, now.
        Task<MessageId>[] rest =
        [
            producer.SendAsync(Text("m1")).AsTask(),
            producer.SendAsync(Text("m2")).AsTask(),
            producer.SendDelayedAsync(Text("m3"), at).AsTask(),
            producer.SendDelayedAsync(Text("m4"), at).AsTask(),
            producer.SendDelayedAsync(Text("m5"), at.AddMilliseconds(1)).AsTask(),
            producer.SendAsync(Text("m6")).AsTask(),
        ];
        broker.ReleaseReceipts(100);
        await Task.WhenAll([first, .. rest]).Within("the receipts");

        var batches = broker.Topic("delayed").Snapshot().Select(e => e.Batch).ToList();
        Assert.Equal([["m0"], ["m1", "m2"], ["m3", "m4"], ["m5"], ["m6"]], batches.Select(b => b.Messages.Select(m => m.Payload.ToStringUtf8()).ToArray()));
        Assert.Equal([0, 0, at.ToUnixTimeMilliseconds(), at.ToUnixTimeMilliseconds() + 1, 0], batches.Select(b => b.Messages.Max(m => m.DeliverAtMs)));
    }

    [Fact]
    public async Task Deliver_after_counts_from_now_and_a_negative_delay_or_a_time_before_1970_is_refused_at_once()
    {
        await using var broker = await FakeBroker.StartAsync();
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("after"));
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await producer.SendDelayedAsync(Text("later"), TimeSpan.FromSeconds(4)).AsTask().Within("the receipt");
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var stored = Assert.Single(broker.Topic("after").Snapshot()).Batch.Messages[0];
        Assert.InRange(stored.DeliverAtMs, before + 4000, after + 4000);

        var negative = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await producer.SendDelayedAsync(Text("x"), TimeSpan.FromSeconds(-1)));
        Assert.Contains("cannot be negative", negative.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await producer.SendDelayedAsync(Text("x"), DateTimeOffset.UnixEpoch.AddDays(-1)));
        Assert.Single(broker.Topic("after").Snapshot());
    }

    [Fact]
    public async Task Cli_produce_sets_deliver_at_from_deliver_after_or_deliver_at_and_refuses_a_negative_delay()
    {
        await using var broker = await FakeBroker.StartAsync();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (code, output) = await TieredProcess.RunAsync(Run, "produce", "cli-delayed", "--message", "in 4 s", "--deliver-after", "4s", "--url", broker.Url);
        Assert.True(code == 0, output);
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        (code, output) = await TieredProcess.RunAsync(Run, "produce", "cli-delayed", "--count", "3", "--deliver-at", "2030-01-01T00:00:00Z", "--url", broker.Url);
        Assert.True(code == 0, output);

        var stored = broker.Topic("cli-delayed").Snapshot().SelectMany(e => e.Batch.Messages).ToList();
        Assert.Equal(4, stored.Count);
        Assert.InRange(stored[0].DeliverAtMs, before + 4000, after + 4000);
        Assert.All(stored.Skip(1), m => Assert.Equal(DateTimeOffset.Parse("2030-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), m.DeliverAtMs));

        (code, output) = await TieredProcess.RunAsync(Run, "produce", "cli-delayed", "--message", "x", "--deliver-after", "-4s", "--url", broker.Url);
        Assert.Equal(2, code);
        Assert.Contains("--deliver-after '-4s' is a negative delay", output, StringComparison.Ordinal);
        (code, output) = await TieredProcess.RunAsync(Run, "produce", "cli-delayed", "--message", "x", "--deliver-after", "4 parsecs", "--url", broker.Url);
        Assert.Equal(2, code);
        Assert.Contains("is not a delay", output, StringComparison.Ordinal);
        Assert.Equal(4, broker.Topic("cli-delayed").Snapshot().SelectMany(e => e.Batch.Messages).Count());
    }
}
