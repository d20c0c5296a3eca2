using System.Text;

namespace Tiered.Client.Tests;

/// <summary>Grouped sends and receipts between the .NET client and a real broker (metadata service, bookie and broker, real gRPC).</summary>
public sealed class GroupedSendRealBrokerTests : RealBrokerTest
{
    [Fact]
    public async Task Many_concurrent_unbatched_sends_travel_grouped_and_are_stored_in_order_with_distinct_ids()
    {
        var topic = $"persistent://public/default/g-{Guid.NewGuid():N}";
        const int count = 3000;
        await using var consumer = await Client.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        MessageId[] ids;
        long requests, batches;
        await using (var producer = await Client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false }))
        {
            var sends = new Task<MessageId>[count];
            for (var i = 0; i < count; i++)
                sends[i] = producer.SendAsync(Encoding.UTF8.GetBytes($"m{i}")).AsTask();
            ids = await Task.WhenAll(sends).Within("every receipt", TimeSpan.FromSeconds(60));
            var partition = Assert.Single(producer.PartitionProducers);
            (requests, batches) = (partition.RequestsWritten, partition.BatchesWritten);
        }

        // Unbatched: one entry per message, each its own id, in the order sent.
        Assert.Equal(count, batches);
        Assert.Equal(count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Equal(0, id.BatchIndex));
        Assert.Equal(ids.OrderBy(id => id.LedgerId).ThenBy(id => id.EntryId), ids);
        // Sends queued while a request was being written went out together.
        Assert.True(requests < batches, $"{requests} requests carried {batches} batches: the sends were not grouped");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        for (var i = 0; i < count; i++)
        {
            var message = await consumer.ReceiveAsync(timeout.Token);
            Assert.Equal($"m{i}", Encoding.UTF8.GetString(message.Payload.Span));
            Assert.Equal(ids[i], message.Id);
        }
    }
}
