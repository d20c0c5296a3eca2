using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>Acknowledgements are checked against the stored entry: the client's batch size never sizes broker state.</summary>
public class AckValidationTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private Messaging.MessagingClient Client => fixture.Broker.Client();

    private async Task<string> ProduceBatchAsync(params string[] payloads)
    {
        var topic = BrokerFixture.NewTopic();
        await using var producer = await RawProducer.OpenAsync(Client, topic);
        Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, (await producer.SendAllAsync([RawProducer.Batch(payloads)]))[0].ResponseCase);
        return topic;
    }

    private static Subscribe Shared(string topic) => new() { Topic = topic, Subscription = "s", Type = SubscriptionType.Shared, InitialPosition = InitialPosition.Earliest };

    private static async Task<List<Received>> ReceiveAsync(RawConsumer consumer, int count)
    {
        var received = new List<Received>();
        while (received.Count < count && await consumer.ReceiveAsync(Wait) is { } message)
            received.Add(message);
        return received;
    }

    [Theory]
    [InlineData(2_000_000_000)]
    [InlineData(int.MaxValue)]
    [InlineData(2)]
    [InlineData(-1)]
    public async Task Ack_with_a_batch_size_that_does_not_match_the_entry_is_refused_and_the_subscription_still_acknowledges(int batchSize)
    {
        var topic = await ProduceBatchAsync("a", "b", "c");
        await using (var consumer = await RawConsumer.SubscribeAsync(Client, Shared(topic)))
        {
            var received = await ReceiveAsync(consumer, 3);
            var error = await consumer.AckAsync([received[1] with { BatchSize = batchSize }]);
            Assert.Contains("batch of 3 message(s)", error);
            Assert.Equal("", await consumer.AckAsync([received[0], received[2]]));
        }
        // Only b is left: the refused ack changed nothing, the later one was stored.
        await using var again = await RawConsumer.SubscribeAsync(Client, Shared(topic));
        var left = await ReceiveAsync(again, 1);
        Assert.Equal("b", Assert.Single(left).Payload);
        Assert.Equal("", await again.AckAsync(left));
    }

    [Fact]
    public async Task Ack_with_a_batch_index_beyond_the_entry_is_refused()
    {
        var topic = await ProduceBatchAsync("a", "b");
        await using var consumer = await RawConsumer.SubscribeAsync(Client, Shared(topic));
        var received = await ReceiveAsync(consumer, 2);
        Assert.Contains("batch_index 5 does not exist", await consumer.AckAsync([received[0] with { BatchIndex = 5, BatchSize = 0 }]));
    }

    [Fact]
    public async Task An_ack_by_batch_index_without_a_batch_size_acknowledges_only_that_message()
    {
        var topic = await ProduceBatchAsync("a", "b", "c");
        await using (var consumer = await RawConsumer.SubscribeAsync(Client, Shared(topic)))
        {
            var received = await ReceiveAsync(consumer, 3);
            Assert.Equal("", await consumer.AckAsync([received[1] with { BatchSize = 0 }]));
        }
        await using var again = await RawConsumer.SubscribeAsync(Client, Shared(topic));
        Assert.Equal(["a", "c"], (await ReceiveAsync(again, 2)).Select(m => m.Payload));
    }

    [Fact]
    public async Task An_ack_of_an_entry_not_delivered_on_this_stream_is_checked_against_the_stored_entry()
    {
        var topic = await ProduceBatchAsync("a", "b", "c");
        Received first;
        await using (var consumer = await RawConsumer.SubscribeAsync(Client, Shared(topic)))
            first = (await ReceiveAsync(consumer, 1))[0];
        // A new stream that was delivered nothing (no permits) acknowledges by id.
        await using var idle = await RawConsumer.SubscribeAsync(Client, Shared(topic), permits: 0);
        Assert.Contains("batch of 3 message(s)", await idle.AckAsync([first with { BatchIndex = 1, BatchSize = 1_000_000 }]));
        Assert.Equal("", await idle.AckAsync([first with { BatchIndex = 1, BatchSize = 3 }]));
    }
}
