using Google.Protobuf;
using Grpc.Core;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>Bad requests get a clear status or error, and nothing stored changes.</summary>
public class BrokerInputTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private Messaging.MessagingClient Client => fixture.Broker.Client();

    [Theory]
    [InlineData("persistent://public/default/bad topic")]
    [InlineData("non-persistent://public/default/t")]
    [InlineData("public/t")]
    [InlineData("")]
    public async Task Malformed_topic_names_are_refused_with_the_reason(string topic)
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Client.LookupAsync(new LookupRequest { Topic = topic }));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("topic name", e.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_unknown_namespace_is_not_found()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => RawProducer.OpenAsync(Client, "persistent://public/nope/t"));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("public/nope does not exist", e.Status.Detail);
    }

    [Fact]
    public async Task An_oversize_batch_is_refused_and_the_next_one_is_stored()
    {
        var topic = BrokerFixture.NewTopic();
        await using var producer = await RawProducer.OpenAsync(Client, topic);
        var huge = new MessageBatch { FormatVersion = 1 };
        huge.Messages.Add(new Message { Payload = ByteString.CopyFrom(new byte[producer.Opened.MaxMessageBytes + 1]) });
        var answers = await producer.SendAllAsync([huge, RawProducer.Batch(["ok"])]);
        Assert.Equal(ErrorCode.InvalidMessage, answers[0].Error.Code);
        Assert.Contains("larger than the broker's limit", answers[0].Error.Message);
        Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, answers[1].ResponseCase);

        await using var reader = await RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = topic, Reader = true, InitialPosition = InitialPosition.Earliest });
        Assert.Equal("ok", (await reader.ReceiveAsync(TimeSpan.FromSeconds(20)))?.Payload);
        Assert.Null(await reader.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task An_empty_batch_is_refused()
    {
        await using var producer = await RawProducer.OpenAsync(Client, BrokerFixture.NewTopic());
        var answers = await producer.SendAllAsync([new MessageBatch { FormatVersion = 1 }]);
        Assert.Equal(ErrorCode.InvalidMessage, answers[0].Error.Code);
        Assert.Contains("no message", answers[0].Error.Message);
    }

    [Fact]
    public async Task A_subscription_needs_a_name()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = BrokerFixture.NewTopic() }));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("subscription name is required", e.Status.Detail);
    }

    [Fact]
    public async Task A_topic_that_may_not_be_created_automatically_is_not_found()
    {
        await fixture.Broker.Metadata.PutAsync("/admin/policies/public/closed", """{"autoTopicCreationOverride":{"allowAutoTopicCreation":false}}"""u8.ToArray());
        var e = await Assert.ThrowsAsync<RpcException>(() => RawProducer.OpenAsync(Client, "persistent://public/closed/t"));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("does not allow creating topics automatically", e.Status.Detail);
    }

    [Fact]
    public async Task Lookup_creates_a_partitioned_topic_when_the_namespace_says_so_and_its_root_cannot_be_produced_to()
    {
        await fixture.Broker.Metadata.PutAsync("/admin/policies/public/parts",
            """{"autoTopicCreationOverride":{"allowAutoTopicCreation":true,"topicType":"partitioned","defaultNumPartitions":3}}"""u8.ToArray());
        var lookup = await Client.LookupAsync(new LookupRequest { Topic = "public/parts/t" });
        Assert.Equal(3, lookup.Partitions);
        Assert.Equal("persistent://public/parts/t", lookup.Topic);
        var e = await Assert.ThrowsAsync<RpcException>(() => RawProducer.OpenAsync(Client, "persistent://public/parts/t"));
        Assert.Contains("is partitioned (3 partitions)", e.Status.Detail);
        await using var partition = await RawProducer.OpenAsync(Client, "persistent://public/parts/t-partition-2");
        var answers = await partition.SendAllAsync([RawProducer.Batch(["x"])]);
        Assert.Equal(2, answers[0].Receipt.MessageId.Partition);
    }
}
