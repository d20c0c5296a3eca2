using System.Text;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>The .NET client against a real broker (metadata service, bookie and broker in this process, real gRPC).</summary>
public sealed class RealBrokerTests : RealBrokerTest
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static string NewTopic() => $"persistent://public/default/c-{Guid.NewGuid():N}";

    private static ReadOnlyMemory<byte> Text(int i) => Encoding.UTF8.GetBytes($"m{i}");

    private static async Task<List<ReceivedMessage>> ReceiveAsync(Consumer consumer, int count)
    {
        var received = new List<ReceivedMessage>(count);
        using var timeout = new CancellationTokenSource(Wait * 2);
        while (received.Count < count)
            received.Add(await consumer.ReceiveAsync(timeout.Token));
        return received;
    }

    private static async Task AssertNothingMoreAsync(Consumer consumer)
    {
        using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await consumer.ReceiveAsync(quiet.Token));
    }

    [Theory]
    [InlineData(SubscriptionType.Exclusive)]
    [InlineData(SubscriptionType.Failover)]
    public async Task Batched_100000_messages_arrive_in_order_exactly_once(SubscriptionType type)
    {
        var topic = NewTopic();
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s") { Type = type, InitialPosition = SubscriptionInitialPosition.Earliest });
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            var sends = new List<Task<MessageId>>(100_000);
            for (var i = 0; i < 100_000; i++)
                sends.Add(producer.SendAsync(Text(i)).AsTask());
            var ids = await Task.WhenAll(sends);
            Assert.Equal(100_000, ids.Distinct().Count());
            Assert.True(ids.Select(id => (id.LedgerId, id.EntryId)).Distinct().Count() < 100_000, "the client batched nothing");
        }
        var received = await ReceiveAsync(consumer, 100_000);
        Assert.Equal(Enumerable.Range(0, 100_000).Select(i => $"m{i}"), received.Select(m => Encoding.UTF8.GetString(m.Payload.Span)));
        await consumer.AcknowledgeCumulativeAsync(received[^1]);
        await AssertNothingMoreAsync(consumer);
    }

    [Fact]
    public async Task Shared_consumers_together_get_100000_messages_each_exactly_once()
    {
        var topic = NewTopic();
        var consumers = new List<Consumer>();
        for (var i = 0; i < 3; i++)
            consumers.Add(await Client.SubscribeAsync(new ConsumerOptions(topic, "s") { Type = SubscriptionType.Shared, InitialPosition = SubscriptionInitialPosition.Earliest, ReceiverQueueSize = 100 }));
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var done = new CancellationTokenSource();
        var receivers = consumers.Select(consumer => Task.Run(async () =>
        {
            var unacked = new List<ReceivedMessage>();
            try
            {
                while (true)
                {
                    var message = await consumer.ReceiveAsync(done.Token);
                    seen.Add(Encoding.UTF8.GetString(message.Payload.Span));
                    unacked.Add(message);
                    if (unacked.Count == 50)
                    {
                        await consumer.AcknowledgeAsync(unacked, done.Token);
                        unacked.Clear();
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToList();
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            var sends = Enumerable.Range(0, 100_000).Select(i => producer.SendAsync(Text(i)).AsTask()).ToList();
            await Task.WhenAll(sends);
        }
        var deadline = DateTime.UtcNow + Wait * 4;
        while (seen.Count < 100_000 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        await done.CancelAsync();
        await Task.WhenAll(receivers);
        Assert.Equal(100_000, seen.Count);
        Assert.Equal(100_000, seen.Distinct().Count());
        foreach (var consumer in consumers)
            await consumer.DisposeAsync();
    }

    [Fact]
    public async Task A_producer_resends_across_a_broker_restart_and_loses_nothing()
    {
        var topic = NewTopic();
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        await using var producer = await Client.CreateProducerAsync(new ProducerOptions(topic));
        var sends = new List<Task<MessageId>>();
        for (var i = 0; i < 5_000; i++)
            sends.Add(producer.SendAsync(Text(i)).AsTask());
        await Broker.RestartAsync();
        for (var i = 5_000; i < 10_000; i++)
            sends.Add(producer.SendAsync(Text(i)).AsTask());
        await Task.WhenAll(sends).WaitAsync(Wait * 2);

        var payloads = new List<string>();
        var acks = new List<Task>();
        var missing = Enumerable.Range(0, 10_000).Select(i => $"m{i}").ToHashSet();
        using var timeout = new CancellationTokenSource(Wait * 2);
        while (missing.Count > 0)
        {
            var message = await consumer.ReceiveAsync(timeout.Token);
            var payload = Encoding.UTF8.GetString(message.Payload.Span);
            payloads.Add(payload);
            missing.Remove(payload);
            // Not one round trip per message: on two busy cores 10,000 of them outlast the deadline.
            acks.Add(consumer.AcknowledgeAsync(message, timeout.Token));
        }
        await Task.WhenAll(acks);
        // A batch cut off by the restart may be stored twice (no de-duplication yet); none is lost,
        // and the order of first appearances is the order of the sends.
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => $"m{i}"), payloads.Distinct());
    }

    [Fact]
    public async Task Lookup_answers_the_broker_as_a_host_port_address_and_as_a_url()
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(Broker.Url);
        var lookup = await new V1.Messaging.MessagingClient(channel).LookupAsync(new V1.LookupRequest { Topic = NewTopic() });

        Assert.Equal(new Uri(Broker.Url).Authority, lookup.BrokerAddress);
        Assert.False(lookup.BrokerTls);
        Assert.Equal(Broker.Url.TrimEnd('/'), lookup.BrokerUrl.TrimEnd('/'));
    }

    [Fact]
    public async Task A_reader_and_last_message_id_see_what_was_produced()
    {
        var topic = NewTopic();
        MessageId last;
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            for (var i = 0; i < 9; i++)
                await producer.SendAsync(Text(i));
            last = await producer.SendAsync(Text(9));
        }
        Assert.Equal(last, await Client.GetLastMessageIdAsync(topic));
        await using var reader = await Client.CreateReaderAsync(new ReaderOptions(topic));
        var read = new List<string>();
        using var timeout = new CancellationTokenSource(Wait);
        for (var i = 0; i < 10; i++)
            read.Add(Encoding.UTF8.GetString((await reader.ReadNextAsync(timeout.Token)).Payload.Span));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), read);
    }
}
