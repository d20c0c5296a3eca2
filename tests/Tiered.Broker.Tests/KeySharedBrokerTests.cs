using Tiered.Broker.Naming;
using Tiered.Broker.Subscriptions.KeyShared;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>Key_Shared on the broker through raw gRPC streams: permits, split-batch acknowledgements, and what topic stats show.</summary>
public sealed class KeySharedBrokerTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private Messaging.MessagingClient Client => fixture.Broker.Client();

    private static Subscribe KeyShared(string topic, string consumer) => new()
    {
        Topic = topic, Subscription = "ks", Type = SubscriptionType.KeyShared, InitialPosition = InitialPosition.Earliest, ConsumerName = consumer,
    };

    [Fact]
    public async Task Auto_split_consumers_share_the_hash_space_and_stats_show_their_ranges_and_draining_hashes()
    {
        var topic = BrokerFixture.NewTopic("ks");
        await using var first = await RawConsumer.SubscribeAsync(Client, KeyShared(topic, "first"));
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
            await producer.SendAllAsync(Enumerable.Range(0, 40).Select(i => RawProducer.Batch([$"m{i}"], key: $"key-{i}")));
        for (var i = 0; i < 40; i++)
            Assert.NotNull(await first.ReceiveAsync(Wait)); // Not acknowledged: all 40 keys are pending at "first".
        await using var second = await RawConsumer.SubscribeAsync(Client, KeyShared(topic, "second"));

        var stats = await fixture.Broker.Server.Admin.GetStatsAsync(TopicName.Parse(topic), CancellationToken.None);
        var subscription = stats.Subscriptions["ks"];
        Assert.Equal("Key_Shared", subscription.Type);
        Assert.Equal("AUTO_SPLIT", subscription.KeySharedMode);
        var ranges = subscription.Consumers.SelectMany(c => c.KeyHashRanges!.Select(Parse)).OrderBy(r => r.Start).ToList();
        Assert.Equal(0, ranges[0].Start);
        Assert.Equal(65535, ranges[^1].End);
        for (var i = 1; i < ranges.Count; i++)
            Assert.Equal(ranges[i - 1].End + 1, ranges[i].Start); // The consumers' ranges cover the space once.
        Assert.All(subscription.Consumers, c => Assert.NotEmpty(c.KeyHashRanges!));
        Assert.InRange(subscription.DrainingHashesCount!.Value, 1, 39); // Keys "second" took, still unacknowledged at "first".
    }

    [Fact]
    public async Task A_whole_entry_ack_from_a_consumer_holding_part_of_a_split_batch_acknowledges_only_its_part()
    {
        var topic = BrokerFixture.NewTopic("ks");
        Subscribe Sticky(string name, int start, int end)
        {
            var request = KeyShared(topic, name);
            request.KeyShared = new KeySharedPolicy { Mode = KeySharedPolicy.Types.Mode.Sticky };
            request.KeyShared.Ranges.Add(new HashRange { Start = start, End = end });
            return request;
        }
        await using var low = await RawConsumer.SubscribeAsync(Client, Sticky("low", 0, 32767));
        var keys = Enumerable.Range(0, 10_000).Select(i => $"key-{i}").ToList();
        var lowKey = keys.First(k => KeyHash.Of(System.Text.Encoding.UTF8.GetBytes(k)) < 32768);
        var highKey = keys.First(k => KeyHash.Of(System.Text.Encoding.UTF8.GetBytes(k)) >= 32768);
        var batch = RawProducer.Batch(["low-0", "high-0", "low-1"]);
        (batch.Messages[0].Key, batch.Messages[1].Key, batch.Messages[2].Key) = (lowKey, highKey, lowKey);
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
            await producer.SendAllAsync([batch]);

        var first = await low.ReceiveAsync(Wait);
        var second = await low.ReceiveAsync(Wait);
        Assert.Equal(["low-0", "low-1"], [first!.Value.Payload, second!.Value.Payload]);
        Assert.Equal("", await low.AckAsync([first.Value with { BatchIndex = -1 }])); // The whole entry, by its id.

        // The high key's message was not acknowledged with it: the consumer taking the high half gets it.
        await using var high = await RawConsumer.SubscribeAsync(Client, Sticky("high", 32768, 65535));
        var handed = await high.ReceiveAsync(Wait);
        Assert.Equal("high-0", handed?.Payload);
        Assert.Null(await low.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_consumer_without_permits_holds_back_only_its_own_keys()
    {
        var topic = BrokerFixture.NewTopic("ks");
        Subscribe Sticky(string name, int start, int end)
        {
            var request = KeyShared(topic, name);
            request.KeyShared = new KeySharedPolicy { Mode = KeySharedPolicy.Types.Mode.Sticky };
            request.KeyShared.Ranges.Add(new HashRange { Start = start, End = end });
            return request;
        }
        await using var slow = await RawConsumer.SubscribeAsync(Client, Sticky("slow", 0, 32767), permits: 1);
        await using var fast = await RawConsumer.SubscribeAsync(Client, Sticky("fast", 32768, 65535));
        var keys = Enumerable.Range(0, 10_000).Select(i => $"key-{i}").ToList();
        var slowKey = keys.First(k => KeyHash.Of(System.Text.Encoding.UTF8.GetBytes(k)) < 32768);
        var fastKey = keys.First(k => KeyHash.Of(System.Text.Encoding.UTF8.GetBytes(k)) >= 32768);
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
        {
            // Interleaved, one message per entry: the slow consumer's entries come first and keep coming.
            await producer.SendAllAsync(Enumerable.Range(0, 50).SelectMany(i =>
                new[] { RawProducer.Batch([$"slow-{i}"], key: slowKey), RawProducer.Batch([$"fast-{i}"], key: fastKey) }));
        }

        var toFast = new List<string>();
        for (var i = 0; i < 50; i++)
            toFast.Add((await fast.ReceiveAsync(Wait))?.Payload ?? throw new Xunit.Sdk.XunitException($"The fast consumer got only {i} of 50."));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"fast-{i}"), toFast);
        Assert.Equal("slow-0", (await slow.ReceiveAsync(Wait))?.Payload);
        Assert.Null(await slow.ReceiveAsync(TimeSpan.FromMilliseconds(300))); // Its one permit is spent.

        await slow.FlowAsync(100);
        var toSlow = new List<string>();
        for (var i = 1; i < 50; i++)
            toSlow.Add((await slow.ReceiveAsync(Wait))?.Payload ?? throw new Xunit.Sdk.XunitException($"The slow consumer got only {i} of 50 after new permits."));
        Assert.Equal(Enumerable.Range(1, 49).Select(i => $"slow-{i}"), toSlow);
    }

    private static KeyHashRange Parse(string range)
    {
        var parts = range.Trim('[', ']').Split(", ");
        return new KeyHashRange(int.Parse(parts[0]), int.Parse(parts[1]));
    }
}
