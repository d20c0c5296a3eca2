using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

public class PartitionedTopicTests
{
    [Fact]
    public async Task A_keyed_message_always_goes_to_the_partition_of_its_key_hash()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Partitions["orders"] = 3;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("orders"));
        Assert.Equal(3, producer.Partitions);

        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 30; i++)
            {
                var key = $"customer-{i}";
                var id = await producer.SendAsync(Text($"{round}-{i}"), key).Within("a receipt");
                Assert.Equal(Murmur3.Partition(key, 3), id.Partition);
            }
        }
        for (var p = 0; p < 3; p++)
        {
            foreach (var entry in broker.Topic($"orders-partition-{p}").Snapshot())
            {
                foreach (var message in entry.Batch.Messages)
                    Assert.Equal(p, Murmur3.Partition(message.Key, 3));
            }
        }
    }

    [Fact]
    public async Task Messages_without_a_key_go_round_robin_over_the_partitions()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Partitions["spread"] = 4;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("spread") { BatchingEnabled = false });

        var partitions = new List<int>();
        for (var i = 0; i < 8; i++)
            partitions.Add((await producer.SendAsync(Text($"m{i}")).Within("a receipt")).Partition);

        Assert.Equal([0, 1, 2, 3, 0, 1, 2, 3], partitions.Select(p => (p - partitions[0] + 4) % 4));
        for (var p = 0; p < 4; p++)
            Assert.Equal(2, broker.Topic($"spread-partition-{p}").Count);
    }

    [Fact]
    public async Task A_burst_of_messages_without_a_key_spreads_over_every_partition()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Partitions["burst"] = 4;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("burst"));

        var sends = new List<Task<MessageId>>();
        for (var i = 0; i < 300; i++)
            sends.Add(producer.SendAsync(Text($"m{i}")).AsTask());
        var perPartition = new int[4];
        foreach (var send in sends)
            perPartition[(await send.Within("a receipt")).Partition]++;

        // A fair share is 75 each; runs of 16 put 64 to 80 on each partition.
        Assert.All(perPartition, n => Assert.InRange(n, 50, 100));
        for (var p = 0; p < 4; p++)
            Assert.Equal(perPartition[p], broker.Topic($"burst-partition-{p}").Snapshot().Sum(e => e.Batch.Messages.Count));
    }

    [Fact]
    public async Task A_consumer_of_a_partitioned_topic_receives_from_every_partition_and_acks_each_in_its_own()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Partitions["merged"] = 3;
        for (var p = 0; p < 3; p++)
            broker.Topic($"merged-partition-{p}").Append(Batch("p", 0, $"from-{p}"));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("merged", "s") { InitialPosition = SubscriptionInitialPosition.Earliest });

        var received = new List<ReceivedMessage>();
        for (var i = 0; i < 3; i++)
            received.Add(await consumer.ReceiveAsync().Within("a message"));
        await consumer.AcknowledgeAsync(received).Within("the acks");

        Assert.Equal(["from-0", "from-1", "from-2"], received.Select(m => Text(m.Payload)).Order());
        Assert.All(received, m => Assert.Equal($"merged-partition-{m.Id.Partition}", m.Topic));
        for (var p = 0; p < 3; p++)
            Assert.True(broker.Subscription($"merged-partition-{p}", "s").IsAcked(0, 0));
        Assert.Equal(3, broker.Subscribes.Count);
    }
}
