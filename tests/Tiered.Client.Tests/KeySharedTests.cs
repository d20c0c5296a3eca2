using System.Text;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>Key_Shared subscriptions through the .NET client against a real broker (metadata service, bookie and broker, real gRPC).</summary>
public sealed class KeySharedTests : RealBrokerTest
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static string NewTopic() => $"persistent://public/default/ks-{Guid.NewGuid():N}";

    private static ConsumerOptions KeyShared(string topic, string name, params KeyHashRange[] ranges) => new(topic, "s")
    {
        Type = SubscriptionType.KeyShared,
        InitialPosition = SubscriptionInitialPosition.Earliest,
        ConsumerName = name,
        KeyHashRanges = ranges,
    };

    /// <summary>Keys whose hash is below 32768 (<paramref name="low"/>) or not: which sticky consumer owns each is known.</summary>
    private static List<string> Keys(bool low, int count)
        => [.. Enumerable.Range(0, 10_000).Select(i => $"key-{i}").Where(k => KeyHashRange.HashOf(k) < 32768 == low).Take(count)];

    private static (string Key, int Seq) Parse(ReceivedMessage message)
    {
        var text = Encoding.UTF8.GetString(message.Payload.Span);
        var colon = text.LastIndexOf(':');
        return (text[..colon], int.Parse(text[(colon + 1)..]));
    }

    private static ReadOnlyMemory<byte> Payload(string key, int seq) => Encoding.UTF8.GetBytes($"{key}:{seq}");

    private static async Task<List<ReceivedMessage>> ReceiveAsync(Consumer consumer, int count)
    {
        var received = new List<ReceivedMessage>(count);
        using var timeout = new CancellationTokenSource(Wait);
        while (received.Count < count)
            received.Add(await consumer.ReceiveAsync(timeout.Token));
        return received;
    }

    private static async Task AssertNothingMoreAsync(Consumer consumer)
    {
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await consumer.ReceiveAsync(quiet.Token));
    }

    /// <summary>Every key's sequence numbers, in the order received, are 0, 1, 2, …: in order, none lost or repeated.</summary>
    private static void AssertInOrderPerKey(IEnumerable<ReceivedMessage> received, int perKey)
    {
        foreach (var key in received.Select(Parse).GroupBy(m => m.Key))
            Assert.Equal(Enumerable.Range(0, perKey), key.Select(m => m.Seq));
    }

    [Fact]
    public void The_broker_hashes_a_key_from_its_bytes_as_the_client_and_pulsar_do()
    {
        foreach (var key in new[] { "", "a", "key-1", "clé", new string('x', 300) })
            Assert.Equal(KeyHashRange.HashOf(key), Tiered.Broker.Subscriptions.KeyShared.KeyHash.Of(Encoding.UTF8.GetBytes(key)));
    }

    [Fact]
    public async Task A_sticky_range_overlapping_another_consumers_is_refused_and_changes_nothing()
    {
        var topic = NewTopic();
        await using var low = await Client.SubscribeAsync(KeyShared(topic, "low", new KeyHashRange(0, 32767)));
        var e = await Assert.ThrowsAsync<TieredClientException>(() => Client.SubscribeAsync(KeyShared(topic, "greedy", new KeyHashRange(30000, 65535))));
        Assert.Contains("[30000, 65535] overlaps range [0, 32767] of consumer low", e.Message);
        var auto = await Assert.ThrowsAsync<TieredClientException>(() => Client.SubscribeAsync(KeyShared(topic, "auto")));
        Assert.Contains("STICKY consumers connected; a AUTO_SPLIT consumer cannot join", auto.Message);
        Assert.Throws<ArgumentException>(() => KeyShared(topic, "bad", new KeyHashRange(10, 5)).Validate());

        // The refused consumers took nothing: the low keys still reach "low", and the high half is free to take.
        await using var high = await Client.SubscribeAsync(KeyShared(topic, "high", new KeyHashRange(32768, 65535)));
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            foreach (var key in Keys(low: true, 5).Concat(Keys(low: false, 5)))
                await producer.SendAsync(Payload(key, 0), key);
        }
        var toLow = await ReceiveAsync(low, 5);
        var toHigh = await ReceiveAsync(high, 5);
        Assert.All(toLow, m => Assert.True(KeyHashRange.HashOf(m.Key!) < 32768));
        Assert.All(toHigh, m => Assert.True(KeyHashRange.HashOf(m.Key!) >= 32768));
    }

    [Fact]
    public async Task A_batch_with_keys_of_two_consumers_is_split_and_each_gets_only_its_keys_in_order()
    {
        var topic = NewTopic();
        await using var low = await Client.SubscribeAsync(KeyShared(topic, "low", new KeyHashRange(0, 32767)));
        await using var high = await Client.SubscribeAsync(KeyShared(topic, "high", new KeyHashRange(32768, 65535)));
        var keys = Keys(low: true, 10).Concat(Keys(low: false, 10)).ToList();
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            // Sent without waiting: the producer batches them, keys of both halves in the same batches.
            var sends = new List<Task<MessageId>>();
            for (var seq = 0; seq < 50; seq++)
                sends.AddRange(keys.Select(key => producer.SendAsync(Payload(key, seq), key).AsTask()));
            await Task.WhenAll(sends);
        }
        var toLow = await ReceiveAsync(low, 500);
        var toHigh = await ReceiveAsync(high, 500);
        Assert.All(toLow, m => Assert.True(KeyHashRange.HashOf(m.Key!) < 32768));
        Assert.All(toHigh, m => Assert.True(KeyHashRange.HashOf(m.Key!) >= 32768));
        AssertInOrderPerKey(toLow, 50);
        AssertInOrderPerKey(toHigh, 50);
        var shared = toLow.Select(m => (m.Id.LedgerId, m.Id.EntryId)).Intersect(toHigh.Select(m => (m.Id.LedgerId, m.Id.EntryId)));
        Assert.NotEmpty(shared); // Entries were split between the two consumers.

        // Acknowledged part by part, each split entry ends acknowledged as a whole: a new consumer gets nothing again.
        await low.AcknowledgeAsync(toLow);
        await high.AcknowledgeAsync(toHigh);
        await low.DisposeAsync();
        await high.DisposeAsync();
        await using var again = await Client.SubscribeAsync(KeyShared(topic, "again", new KeyHashRange(0, 65535)));
        await AssertNothingMoreAsync(again);
    }

    [Fact]
    public async Task A_consumer_leaving_hands_its_unacknowledged_keys_over_in_order()
    {
        var topic = NewTopic();
        await using var low = await Client.SubscribeAsync(KeyShared(topic, "low", new KeyHashRange(0, 32767)));
        await using var high = await Client.SubscribeAsync(KeyShared(topic, "high", new KeyHashRange(32768, 65535)));
        var lowKeys = Keys(low: true, 5);
        await using var producer = await Client.CreateProducerAsync(new ProducerOptions(topic));
        for (var seq = 0; seq < 20; seq++)
        {
            foreach (var key in lowKeys)
                await producer.SendAsync(Payload(key, seq), key);
        }
        var held = await ReceiveAsync(low, 100);
        await low.AcknowledgeAsync(held.Where(m => Parse(m).Seq < 5)); // Seq 5 … 19 stay unacknowledged.
        await low.DisposeAsync();

        // Sticky ranges stay where their consumers put them: the low half's messages wait for a consumer taking it.
        await using var heir = await Client.SubscribeAsync(KeyShared(topic, "heir", new KeyHashRange(0, 32767)));
        for (var seq = 20; seq < 30; seq++)
        {
            foreach (var key in lowKeys)
                await producer.SendAsync(Payload(key, seq), key);
        }
        var inherited = await ReceiveAsync(heir, 5 * 25);
        foreach (var key in inherited.Select(Parse).GroupBy(m => m.Key))
            Assert.Equal(Enumerable.Range(5, 25), key.Select(m => m.Seq));
        Assert.All(inherited.Where(m => Parse(m).Seq < 20), m => Assert.Equal(1, m.RedeliveryCount));
        await AssertNothingMoreAsync(high);
    }

    [Fact]
    public async Task A_joining_consumer_waits_for_the_old_owners_acknowledgements_and_then_gets_its_keys()
    {
        var topic = NewTopic();
        var first = await Client.SubscribeAsync(KeyShared(topic, "first"));
        await using var producer = await Client.CreateProducerAsync(new ProducerOptions(topic));
        var keys = Enumerable.Range(0, 50).Select(i => $"key-{i}").ToList();
        foreach (var key in keys)
            await producer.SendAsync(Payload(key, 0), key);
        var pending = await ReceiveAsync(first, 50); // Unacknowledged: every key is draining at "first".

        await using var second = await Client.SubscribeAsync(KeyShared(topic, "second"));
        foreach (var key in keys)
            await producer.SendAsync(Payload(key, 1), key);
        // "first" keeps getting the keys it still owns; the keys "second" took wait for "first"'s acknowledgements.
        var firstOwns = new List<ReceivedMessage>();
        using (var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try
            {
                while (true)
                    firstOwns.Add(await first.ReceiveAsync(quiet.Token));
            }
            catch (OperationCanceledException)
            {
            }
        }
        Assert.InRange(firstOwns.Count, 1, 49); // The space is split: some keys stayed, some moved.
        await AssertNothingMoreAsync(second);

        await first.AcknowledgeAsync(pending);
        var moved = await ReceiveAsync(second, 50 - firstOwns.Count);
        Assert.All(moved, m => Assert.Equal(1, Parse(m).Seq));
        Assert.Empty(moved.Select(m => m.Key).Intersect(firstOwns.Select(m => m.Key)));
        await first.DisposeAsync();
    }

    [Fact]
    public async Task Cli_consumers_with_sticky_ranges_each_print_only_their_keys()
    {
        var topic = NewTopic();
        var lowKeys = Keys(low: true, 5);
        var highKeys = Keys(low: false, 5);
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            foreach (var key in lowKeys.Concat(highKeys))
                await producer.SendAsync(Payload(key, 0), key);
        }
        Task<(int Code, string Output)> Consume(string range) => TieredProcess.RunAsync(TimeSpan.FromSeconds(90),
            "consume", topic, "--subscription", "s", "--type", "KeyShared", "--key-hash-range", range, "--from", "earliest", "--count", "5", "--url", Broker.Url);
        var results = await Task.WhenAll(Consume("0-32767"), Consume("32768-65535"));
        Assert.All(results, r => Assert.True(r.Code == 0, r.Output));
        Assert.All(lowKeys, k => Assert.Contains($"{k}:0", results[0].Output, StringComparison.Ordinal));
        Assert.All(highKeys, k => Assert.DoesNotContain($"{k}:0", results[0].Output, StringComparison.Ordinal));
        Assert.All(highKeys, k => Assert.Contains($"{k}:0", results[1].Output, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cumulative_acknowledgement_is_refused()
    {
        var topic = NewTopic();
        await using var consumer = await Client.SubscribeAsync(KeyShared(topic, "c"));
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic)))
            await producer.SendAsync(Payload("k", 0), "k");
        var message = await consumer.ReceiveAsync();
        var e = await Assert.ThrowsAsync<TieredClientException>(() => consumer.AcknowledgeCumulativeAsync(message));
        Assert.Contains("not allowed on a Key_Shared subscription", e.Message);
    }
}
