using System.Text;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>Negative acks, dead-letter and retry topics through the .NET client and `tiered consume`, against a real broker.</summary>
public sealed class NegativeAckClientTests : RealBrokerTest
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static string NewTopic() => $"persistent://public/default/nack-{Guid.NewGuid():N}";

    private async Task SendAsync(string topic, string payload, bool batched = false)
    {
        await using var producer = await Client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = batched });
        await producer.SendAsync(Encoding.UTF8.GetBytes(payload), key: "k-" + payload, properties: new Dictionary<string, string> { ["p"] = payload });
    }

    [Fact]
    public async Task A_message_negatively_acknowledged_every_time_arrives_max_plus_one_times_then_in_the_dead_letter_topic()
    {
        var topic = NewTopic();
        await SendAsync(topic, "poison");
        await SendAsync(topic, "fine");
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.Shared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            NegativeAckDelay = TimeSpan.FromMilliseconds(50),
            DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 2 },
        });
        var poison = new List<int>();
        while (await ReceiveOrNullAsync(consumer, TimeSpan.FromSeconds(2)) is { } message)
        {
            if (Encoding.UTF8.GetString(message.Payload.Span) == "poison")
            {
                poison.Add(message.RedeliveryCount);
                await consumer.NegativeAcknowledgeAsync(message);
            }
            else
            {
                await consumer.AcknowledgeAsync(message);
            }
        }
        Assert.Equal([0, 1, 2], poison);

        await using var dlq = await Client.SubscribeAsync(new ConsumerOptions($"{topic}-s-DLQ", "check") { InitialPosition = SubscriptionInitialPosition.Earliest });
        var dead = await dlq.ReceiveAsync(new CancellationTokenSource(Wait).Token);
        Assert.Equal("poison", Encoding.UTF8.GetString(dead.Payload.Span));
        Assert.Equal("k-poison", dead.Key);
        Assert.Equal("poison", dead.Properties["p"]);
        Assert.Equal(topic, dead.Properties["REAL_TOPIC"]);
        Assert.Null(await ReceiveOrNullAsync(dlq, TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task With_RetryEnable_a_message_reconsumed_later_comes_back_through_the_same_consumer_until_it_goes_to_the_dead_letter_topic()
    {
        var topic = NewTopic();
        await SendAsync(topic, "later");
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.Shared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 2 },
            RetryEnable = true,
        });
        var seen = new List<(string Topic, string? Times)>();
        while (await ReceiveOrNullAsync(consumer, TimeSpan.FromSeconds(2)) is { } message)
        {
            seen.Add((message.Topic, message.Properties.GetValueOrDefault("RECONSUMETIMES")));
            Assert.Equal("later", Encoding.UTF8.GetString(message.Payload.Span));
            await consumer.ReconsumeLaterAsync(message, TimeSpan.FromMilliseconds(50), new Dictionary<string, string> { ["attempt"] = seen.Count.ToString() });
        }
        Assert.Equal([(topic, null), ($"{topic}-s-RETRY", "1"), ($"{topic}-s-RETRY", "2")], seen);

        await using var dlq = await Client.SubscribeAsync(new ConsumerOptions($"{topic}-s-DLQ", "check") { InitialPosition = SubscriptionInitialPosition.Earliest });
        var dead = await dlq.ReceiveAsync(new CancellationTokenSource(Wait).Token);
        Assert.Equal("later", Encoding.UTF8.GetString(dead.Payload.Span));
        Assert.Equal("3", dead.Properties["attempt"]);
        Assert.Equal(topic, dead.Properties["REAL_TOPIC"]);
    }

    [Fact]
    public void Bad_options_are_refused_before_anything_is_sent()
    {
        Assert.Throws<ArgumentException>(() => new ConsumerOptions("t", "s") { NegativeAckDelay = TimeSpan.FromSeconds(-1) }.Validate());
        Assert.Throws<ArgumentException>(() => new ConsumerOptions("t", "s") { AckTimeout = TimeSpan.FromMilliseconds(500) }.Validate());
        Assert.Throws<ArgumentException>(() => new ConsumerOptions("t", "s") { DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = -1 } }.Validate());
        Assert.Throws<ArgumentException>(() => new ConsumerOptions("t", "s") { RetryEnable = true }.Validate());
    }

    [Fact]
    public async Task Tiered_consume_with_nack_shows_the_redeliveries_and_the_message_ends_in_the_dead_letter_topic()
    {
        var topic = NewTopic();
        await SendAsync(topic, "cli");
        var (code, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(90), "consume", topic, "--subscription", "s", "--type", "Shared",
            "--from", "earliest", "--nack", "--nack-delay", "100ms", "--dlq-max-redeliver", "1", "--count", "2", "--url", Broker.Url);
        Assert.True(code == 0, output);
        Assert.Contains("redelivery=1", output, StringComparison.Ordinal);

        await using var dlq = await Client.SubscribeAsync(new ConsumerOptions($"{topic}-s-DLQ", "check") { InitialPosition = SubscriptionInitialPosition.Earliest });
        // The CLI exited after the second arrival, negatively acknowledged: the broker dead-letters it on its next delivery, to the next consumer.
        await using var next = await Client.SubscribeAsync(new ConsumerOptions(topic, "s") { Type = SubscriptionType.Shared, DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 1 } });
        var dead = await dlq.ReceiveAsync(new CancellationTokenSource(Wait).Token);
        Assert.Equal("cli", Encoding.UTF8.GetString(dead.Payload.Span));
        Assert.Null(await ReceiveOrNullAsync(next, TimeSpan.FromMilliseconds(500)));
    }
}
