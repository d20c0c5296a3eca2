using System.Text;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>
/// Key_Shared has its own dispatch path; these check that delayed delivery, negative acks and the dead-letter topic
/// work on it as on Shared (real broker, real gRPC).
/// </summary>
public sealed class KeySharedWithOtherFeaturesTests : RealBrokerTest
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static string NewTopic() => $"persistent://public/default/ks-mix-{Guid.NewGuid():N}";

    private static string Text(ReceivedMessage message) => Encoding.UTF8.GetString(message.Payload.Span);

    [Fact]
    public async Task A_delayed_message_on_a_Key_Shared_subscription_waits_for_its_time_while_other_messages_flow()
    {
        var topic = NewTopic();
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.KeyShared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
        });
        await using var producer = await Client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false });
        var deliverAt = DateTimeOffset.UtcNow.AddMilliseconds(1500);
        await producer.SendDelayedAsync(Encoding.UTF8.GetBytes("later"), deliverAt, key: "a");
        await producer.SendAsync(Encoding.UTF8.GetBytes("now"), key: "b");

        var first = await ReceiveOrNullAsync(consumer, Wait);
        Assert.Equal("now", first is null ? null : Text(first));
        await consumer.AcknowledgeAsync(first!);
        var second = await ReceiveOrNullAsync(consumer, Wait);
        var arrived = DateTimeOffset.UtcNow;
        Assert.Equal("later", second is null ? null : Text(second));
        Assert.True(arrived >= deliverAt.AddMilliseconds(-20), $"delivered {(deliverAt - arrived).TotalMilliseconds:F0} ms before its time");
        Assert.Equal(0, second!.RedeliveryCount);
    }

    [Fact]
    public async Task A_message_always_negatively_acknowledged_on_Key_Shared_goes_to_the_dead_letter_topic_after_max_plus_one_arrivals()
    {
        var topic = NewTopic();
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false }))
        {
            await producer.SendAsync(Encoding.UTF8.GetBytes("poison"), key: "p");
            for (var i = 0; i < 5; i++)
                await producer.SendAsync(Encoding.UTF8.GetBytes($"fine-{i}"), key: $"k{i}");
        }
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.KeyShared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            NegativeAckDelay = TimeSpan.FromMilliseconds(50),
            DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 2 },
        });
        var poison = new List<int>();
        var fine = new List<string>();
        while (await ReceiveOrNullAsync(consumer, TimeSpan.FromSeconds(2)) is { } message)
        {
            if (Text(message) == "poison")
            {
                poison.Add(message.RedeliveryCount);
                await consumer.NegativeAcknowledgeAsync(message);
            }
            else
            {
                fine.Add(Text(message));
                await consumer.AcknowledgeAsync(message);
            }
        }
        Assert.Equal([0, 1, 2], poison);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"fine-{i}").Order(), fine.Order());

        await using var dlq = await Client.SubscribeAsync(new ConsumerOptions($"{topic}-s-DLQ", "check") { InitialPosition = SubscriptionInitialPosition.Earliest });
        var dead = await ReceiveOrNullAsync(dlq, Wait);
        Assert.Equal("poison", dead is null ? null : Text(dead));
        Assert.Equal("p", dead!.Key);
        Assert.Null(await ReceiveOrNullAsync(dlq, TimeSpan.FromMilliseconds(500)));
    }
}
