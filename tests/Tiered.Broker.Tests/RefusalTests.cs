using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Tiered.Broker.Naming;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>
/// What a careless or hostile client sends is refused with the status the contract names, the
/// refusal creates and changes nothing, and the client's connection keeps serving.
/// </summary>
public class RefusalTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private Messaging.MessagingClient Client => fixture.Broker.Client();

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(15);

    private async Task ConnectionServesAsync()
    {
        var answer = await Client.LookupAsync(new LookupRequest { Topic = BrokerFixture.NewTopic() }, deadline: Deadline);
        Assert.NotEmpty(answer.BrokerUrl);
    }

    [Fact]
    public async Task A_topic_name_of_100000_characters_is_refused_briefly_and_the_connection_still_serves()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () => await Client.LookupAsync(new LookupRequest { Topic = new string('a', 100_000) }, deadline: Deadline));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.InRange(e.Status.Detail.Length, 1, 400);
        Assert.Contains("100000 characters", e.Status.Detail);
        await ConnectionServesAsync();
    }

    [Fact]
    public async Task Subscription_and_consumer_names_of_100000_characters_are_refused_briefly()
    {
        var topic = BrokerFixture.NewTopic();
        var subscription = await Assert.ThrowsAsync<RpcException>(() => RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = topic, Subscription = new string('s', 100_000) }));
        Assert.Equal(StatusCode.InvalidArgument, subscription.StatusCode);
        Assert.InRange(subscription.Status.Detail.Length, 1, 400);
        var consumer = await Assert.ThrowsAsync<RpcException>(() => RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = topic, Subscription = "s", ConsumerName = new string('c', 100_000) }));
        Assert.Equal(StatusCode.InvalidArgument, consumer.StatusCode);
        Assert.InRange(consumer.Status.Detail.Length, 1, 400);
        await ConnectionServesAsync();
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("public/default/..")]
    [InlineData("persistent://public/default/.")]
    [InlineData("public/../t")]
    [InlineData("../default/t")]
    public async Task The_names_dot_and_dot_dot_are_refused_as_invalid_arguments(string topic)
    {
        var lookup = await Assert.ThrowsAsync<RpcException>(async () => await Client.LookupAsync(new LookupRequest { Topic = topic }, deadline: Deadline));
        Assert.Equal(StatusCode.InvalidArgument, lookup.StatusCode);
        var produce = await Assert.ThrowsAsync<RpcException>(() => RawProducer.OpenAsync(Client, topic));
        Assert.Equal(StatusCode.InvalidArgument, produce.StatusCode);
    }

    [Fact]
    public async Task A_batch_without_format_version_is_refused_and_nothing_is_stored()
    {
        var topic = BrokerFixture.NewTopic();
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
        {
            var unversioned = RawProducer.Batch(["v0"]);
            unversioned.FormatVersion = 0;
            var answers = await producer.SendAllAsync([unversioned]);
            Assert.Equal(ErrorCode.InvalidMessage, answers[0].Error.Code);
            Assert.Contains("format_version", answers[0].Error.Message);
        }
        var last = await Client.GetLastMessageIdAsync(new GetLastMessageIdRequest { Topic = topic });
        Assert.Equal(-1, last.MessageId.EntryId);
    }

    [Fact]
    public async Task A_batch_without_publish_time_is_stored_with_the_broker_time()
    {
        var topic = BrokerFixture.NewTopic();
        var untimed = RawProducer.Batch(["untimed", "too"]);
        untimed.PublishTimeMs = 0;
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
            Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, (await producer.SendAllAsync([untimed]))[0].ResponseCase);
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        using var call = Client.Consume();
        await call.RequestStream.WriteAsync(new ConsumeRequest { Subscribe = new Subscribe { Topic = topic, Reader = true, InitialPosition = InitialPosition.Earliest } });
        await call.RequestStream.WriteAsync(new ConsumeRequest { Flow = new Flow { Permits = 10 } });
        using var timeout = new CancellationTokenSource(Wait);
        Delivery? delivery = null;
        while (delivery is null && await call.ResponseStream.MoveNext(timeout.Token))
            delivery = call.ResponseStream.Current.Delivery;
        Assert.NotNull(delivery);
        Assert.InRange(delivery.Batch.PublishTimeMs, before, after);
        Assert.Equal(["untimed", "too"], delivery.Batch.Messages.Select(m => m.Payload.ToStringUtf8()));
        Assert.Equal(2, delivery.MessageId.BatchSize);
    }

    [Fact]
    public async Task A_message_with_a_negative_deliver_at_is_refused_and_the_stream_goes_on()
    {
        var topic = BrokerFixture.NewTopic();
        await using var producer = await RawProducer.OpenAsync(Client, topic);
        var delayed = RawProducer.Batch(["now", "never"]);
        delayed.Messages[1].DeliverAtMs = -5;
        var answers = await producer.SendAllAsync([delayed, RawProducer.Batch(["ok"])]);
        Assert.Equal(ErrorCode.InvalidMessage, answers[0].Error.Code);
        Assert.Contains("deliver_at_ms -5", answers[0].Error.Message);
        Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, answers[1].ResponseCase);
    }

    [Theory]
    [InlineData("key-shared-range-backwards")]
    [InlineData("key-shared-range-outside")]
    [InlineData("unknown-type")]
    public async Task A_refused_subscribe_creates_neither_the_topic_nor_the_subscription(string refusal)
    {
        Subscribe Request(string topic)
        {
            var request = new Subscribe { Topic = topic, Subscription = "s", Type = refusal == "unknown-type" ? (SubscriptionType)7 : SubscriptionType.KeyShared };
            if (refusal != "unknown-type")
            {
                request.KeyShared = new KeySharedPolicy { Mode = KeySharedPolicy.Types.Mode.Sticky };
                request.KeyShared.Ranges.Add(refusal == "key-shared-range-backwards" ? new HashRange { Start = 9, End = 3 } : new HashRange { Start = 0, End = 65536 });
            }
            return request;
        }
        var fresh = BrokerFixture.NewTopic();
        var e = await Assert.ThrowsAsync<RpcException>(() => RawConsumer.SubscribeAsync(Client, Request(fresh)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.False(await ManagedLedgers.ManagedLedger.ExistsAsync(TopicName.Parse(fresh).ManagedLedgerName, fixture.Broker.Metadata, CancellationToken.None));

        var existing = BrokerFixture.NewTopic();
        await using (var producer = await RawProducer.OpenAsync(Client, existing))
            await producer.SendAllAsync([RawProducer.Batch(["m"])]);
        e = await Assert.ThrowsAsync<RpcException>(() => RawConsumer.SubscribeAsync(Client, Request(existing)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        var seek = await Assert.ThrowsAsync<RpcException>(async () => await Client.SeekAsync(new SeekRequest { Topic = existing, Subscription = "s", PublishTimeMs = 0 }));
        Assert.Equal(StatusCode.NotFound, seek.StatusCode);
        Assert.Null(fixture.Broker.Server.Topics.FindLoaded(TopicName.Parse(existing))!.FindSubscription("s"));
    }

    [Theory]
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff })]
    [InlineData(new byte[] { 0x0a, 0x02, 0xc3, 0x28 })] // LookupRequest{topic} with bytes that are not UTF-8
    public async Task Undecodable_requests_are_invalid_arguments(byte[] request)
    {
        using var channel = GrpcChannel.ForAddress(fixture.Broker.Url);
        var bytes = Marshallers.Create(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "tiered.v1.Messaging", "Lookup", bytes, bytes);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(deadline: Deadline), request));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("not a valid tiered.v1.LookupRequest", e.Status.Detail);
    }

    [Theory]
    [InlineData("Lookup", 0xFFFFFFFFu)]
    [InlineData("Lookup", 0x80000000u)]
    [InlineData("Lookup", 100_000_000u)]
    [InlineData("Produce", 0xFFFFFFFFu)]
    [InlineData("Consume", 0x80000000u)]
    [InlineData("Consume", 100_000_000u)]
    public async Task A_length_prefix_beyond_the_limit_is_resource_exhausted(string method, uint claimed)
    {
        using var http = new HttpClient();
        var body = new byte[] { 0, (byte)(claimed >> 24), (byte)(claimed >> 16), (byte)(claimed >> 8), (byte)claimed, 0x0a, 0x01, 0x61 };
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{fixture.Broker.Url}/tiered.v1.Messaging/{method}")
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var status = response.Headers.TryGetValues("grpc-status", out var values) ? values.Single()
            : response.TrailingHeaders.TryGetValues("grpc-status", out values) ? values.Single() : null;
        Assert.True(status == ((int)StatusCode.ResourceExhausted).ToString(System.Globalization.CultureInfo.InvariantCulture), $"{response}\n{response.TrailingHeaders}");
        await ConnectionServesAsync();
    }

    [Fact]
    public async Task A_consumer_that_sends_nothing_for_longer_than_the_servers_body_rate_grace_keeps_its_stream()
    {
        // Kestrel closes a connection whose request body arrives slower than 240 bytes/s after a 5 s grace,
        // unless the gRPC handler lifted that limit for the stream before the body was first read.
        var topic = BrokerFixture.NewTopic();
        await using var consumer = await RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = topic, Subscription = "idle", InitialPosition = InitialPosition.Earliest });
        await Task.Delay(TimeSpan.FromSeconds(8)); // the idle time is the scenario, not a synchronization
        await using (var producer = await RawProducer.OpenAsync(Client, topic))
            await producer.SendAllAsync([RawProducer.Batch(["after the idle time"])]);
        Assert.Equal("after the idle time", (await consumer.ReceiveAsync(Wait))?.Payload);
    }
}
