using Tiered.Broker.Naming;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>Producer de-duplication against a real broker (gRPC on 127.0.0.1, real metadata service and bookie).</summary>
public sealed class DeduplicationTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static MessageBatch Numbered(long sequenceId, params string[] payloads)
    {
        var batch = RawProducer.Batch(payloads);
        batch.SequenceId = (ulong)sequenceId;
        return batch;
    }

    /// <summary>Producer "p" stores m0…m9 (sequence ids 0–9, one per batch); answers the receipts.</summary>
    private static async Task<List<ProduceResponse>> StoreTenAsync(LocalBroker broker, string topic)
    {
        await using var producer = await RawProducer.OpenAsync(broker.Client(), topic, "p");
        Assert.Equal(-1, producer.Opened.LastSequenceId);
        var receipts = await producer.SendAllAsync(Enumerable.Range(0, 10).Select(i => RawProducer.Batch([$"m{i}"])));
        Assert.All(receipts, r => Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, r.ResponseCase));
        return receipts;
    }

    [Fact]
    public async Task A_resent_batch_is_stored_once_and_answered_with_the_original_message_id_and_an_overlap_is_refused()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        var receipts = await StoreTenAsync(broker, topic);

        await using var again = await RawProducer.OpenAsync(broker.Client(), topic, "p");
        Assert.Equal(9, again.Opened.LastSequenceId);
        var resent = await again.SendAsIsAsync(Numbered(3, "m3 again"));
        Assert.Equal(receipts[3].Receipt.MessageId, resent.Receipt.MessageId);
        var overlap = await again.SendAsIsAsync(Numbered(8, "m8", "m9", "m10"));
        Assert.Equal(ErrorCode.InvalidMessage, overlap.Error.Code);
        Assert.Contains("overlap", overlap.Error.Message);
        var next = await again.SendAsIsAsync(Numbered(10, "m10"));
        Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, next.ResponseCase);

        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"m{i}"), await RawConsumer.ReadAllAsync(broker.Client(), topic, 11, Wait));
        var stats = await broker.Server.Admin.GetStatsAsync(TopicName.Parse(topic), CancellationToken.None);
        Assert.DoesNotContain(stats.Subscriptions.Keys, s => s.StartsWith("tiered.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_table_survives_a_restart_and_a_resend_after_it_gets_the_original_message_id()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        var receipts = await StoreTenAsync(broker, topic);

        await broker.RestartAsync();

        await using var again = await RawProducer.OpenAsync(broker.Client(), topic, "p");
        Assert.Equal(9, again.Opened.LastSequenceId);
        var resent = await again.SendAsIsAsync(Numbered(9, "m9 again"));
        Assert.Equal(receipts[9].Receipt.MessageId, resent.Receipt.MessageId);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), await RawConsumer.ReadAllAsync(broker.Client(), topic, 10, Wait));
    }

    [Fact]
    public async Task With_de_duplication_off_a_resent_batch_is_stored_again()
    {
        await using var broker = await LocalBroker.StartAsync(options => options with { DeduplicationEnabled = false });
        var topic = BrokerFixture.NewTopic();
        await using var producer = await RawProducer.OpenAsync(broker.Client(), topic, "p");
        var first = await producer.SendAsIsAsync(Numbered(0, "m0"));
        var resent = await producer.SendAsIsAsync(Numbered(0, "m0"));
        Assert.NotEqual(first.Receipt.MessageId, resent.Receipt.MessageId);
        Assert.Equal(["m0", "m0"], await RawConsumer.ReadAllAsync(broker.Client(), topic, 2, Wait));
    }

    [Fact]
    public async Task Subscription_names_of_the_brokers_own_cursors_are_refused()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic();
        var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => RawConsumer.SubscribeAsync(broker.Client(), new Subscribe { Topic = topic, Subscription = "tiered.dedup" }));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("reserved", refused.Status.Detail);
    }
}
