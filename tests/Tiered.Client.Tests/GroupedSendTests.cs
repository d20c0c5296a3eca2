using System.Text;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

/// <summary>
/// Several batches per Produce request (SendBatches) and several receipts per response (SendReceipts), both opt-in: the
/// producer groups only for a broker that announces it, and reads grouped receipts from one that sends them.
/// </summary>
public class GroupedSendTests
{
    /// <summary>
    /// 200 unbatched messages sent while the producer's first stream fails and it reconnects: on the new stream all of
    /// them are queued at once, so a producer that groups writes them in a few requests.
    /// </summary>
    private static async Task<(MessageId[] Ids, List<FakeBroker.ReceivedSend> Second)> SendAcrossAReconnectionAsync(FakeBroker broker, string topic)
    {
        broker.FailProduceStreamAtBatch = 1;
        await using var client = For(broker);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false, ProducerName = "p" });
        var sends = new Task<MessageId>[200];
        for (var i = 0; i < sends.Length; i++)
            sends[i] = producer.SendAsync(Text($"m{i}")).AsTask();
        var ids = await Task.WhenAll(sends).Within("every receipt, across the reconnection");
        Assert.Equal(2, broker.ProduceStreams);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}"), broker.Topic(topic).Snapshot().Select(e => e.Batch.Messages[0].Payload.ToStringUtf8()));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), ids.Select(id => id.EntryId));
        return (ids, broker.SendsSnapshot().Where(s => s.Stream == 2).ToList());
    }

    [Fact]
    public async Task To_a_broker_that_takes_groups_queued_batches_go_out_grouped_in_order_and_grouped_receipts_resolve_them()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.AcceptGroupedSends = true;
        var (_, second) = await SendAcrossAReconnectionAsync(broker, "grouped");

        Assert.Equal(Enumerable.Range(0, 200).Select(i => (ulong)i), second.Select(s => s.Send.SequenceId));
        // At most 64 batches a request: at least 4 requests, and far fewer than 200.
        Assert.InRange(broker.ProduceRequests, 4, 60);
        Assert.True(broker.GroupedReceiptResponses > 0, "the broker wrote no grouped receipts");
        Assert.All(broker.Opens, o => Assert.True(o.AcceptsGroupedReceipts));
    }

    [Fact]
    public async Task To_a_broker_that_does_not_announce_groups_each_batch_goes_in_a_request_of_its_own()
    {
        // The fake then refuses a SendBatches request (as a broker older than grouping does): the sends would fail.
        await using var broker = await FakeBroker.StartAsync();
        var (_, second) = await SendAcrossAReconnectionAsync(broker, "ungrouped");

        Assert.Equal(Enumerable.Range(0, 200).Select(i => (ulong)i), second.Select(s => s.Send.SequenceId));
        Assert.Equal(1 + 200, broker.ProduceRequests);
        Assert.Equal(0, broker.GroupedReceiptResponses);
    }
}
