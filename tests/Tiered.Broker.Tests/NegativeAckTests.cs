using System.Diagnostics;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>
/// Negative acks, ack timeout, dead-letter and retry topics, as any gRPC client sees them: redelivery after the
/// delay, exactly max_redeliver_count + 1 arrivals then the dead-letter topic once (also across a broker restart),
/// the ack timeout, ReconsumeLater, and refusals of bad settings.
/// </summary>
public class NegativeAckTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static Subscribe Shared(string topic, string subscription = "s") => new()
    {
        Topic = topic, Subscription = subscription, Type = SubscriptionType.Shared, InitialPosition = InitialPosition.Earliest,
    };

    private static async Task PublishAsync(Messaging.MessagingClient client, string topic, params Message[] messages)
    {
        await using var producer = await RawProducer.OpenAsync(client, topic);
        var batch = new MessageBatch { FormatVersion = 1 };
        batch.Messages.Add(messages);
        var answers = await producer.SendAllAsync([batch]);
        Assert.Equal(ProduceResponse.ResponseOneofCase.Receipt, answers.Single().ResponseCase);
    }

    private static Message Keyed(string payload) => new()
    {
        Payload = ByteString.CopyFromUtf8(payload), Key = "key-" + payload, EventTimeMs = 1234, Properties = { ["p"] = payload },
    };

    [Fact]
    public async Task A_message_always_nacked_arrives_max_redeliver_count_plus_one_times_then_is_in_the_dead_letter_topic_once()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("nack");
        var subscribe = Shared(topic);
        subscribe.NegativeAckDelayMs = 50;
        subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 3 };
        await PublishAsync(client, topic, Keyed("always-nacked"));
        await using var consumer = await NackStream.SubscribeAsync(client, subscribe);

        var counts = await NackEverythingAsync(consumer, until: 2);
        var name = Naming.TopicName.Parse(topic);
        // The count the next delivery carries is stored with the cursor.
        Assert.Equal(1, (await fixture.Broker.Server.Admin.GetInternalStatsAsync(name, CancellationToken.None)).Cursors["s"].StoredRedeliveryCounts);
        counts.AddRange(await NackEverythingAsync(consumer, until: 2));
        Assert.Equal([0, 1, 2, 3], counts);
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(800)));

        await AssertDeadLetteredOnceAsync(client, $"{topic}-s-DLQ", topic, "always-nacked");
        var stats = (await fixture.Broker.Server.Admin.GetStatsAsync(name, CancellationToken.None)).Subscriptions["s"];
        Assert.Equal(4, stats.MsgNegativelyAckedCounter);
        Assert.Equal(1, stats.MsgDeadLetteredCounter);
        Assert.Equal(0, stats.MsgBacklog);
        Assert.Equal(0, (await fixture.Broker.Server.Admin.GetInternalStatsAsync(name, CancellationToken.None)).Cursors["s"].StoredRedeliveryCounts);
    }

    [Fact]
    public async Task The_redelivery_count_survives_a_graceful_broker_restart_so_the_message_still_arrives_exactly_max_plus_one_times()
    {
        await using var broker = await LocalBroker.StartAsync();
        var topic = BrokerFixture.NewTopic("nack-restart");
        var subscribe = Shared(topic);
        subscribe.NegativeAckDelayMs = 50;
        subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 3 };
        await PublishAsync(broker.Client(), topic, Keyed("restarted"));

        var counts = new List<int>();
        await using (var consumer = await NackStream.SubscribeAsync(broker.Client(), subscribe))
        {
            counts.AddRange(await NackEverythingAsync(consumer, until: 1));
            // Delivered again and held, not nacked, when the broker stops: that delivery counts.
            var held = await consumer.ReceiveAsync(Wait);
            Assert.NotNull(held);
            counts.Add(held.Delivery.RedeliveryCount);
            await broker.RestartAsync();
        }
        await using (var consumer = await NackStream.SubscribeAsync(broker.Client(), subscribe))
        {
            counts.AddRange(await NackEverythingAsync(consumer, until: 2));
            Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(800)));
        }
        Assert.Equal([0, 1, 2, 3], counts);
        await AssertDeadLetteredOnceAsync(broker.Client(), $"{topic}-s-DLQ", topic, "restarted");
    }

    [Fact]
    public async Task The_redelivery_count_survives_an_unload_as_when_the_topic_moves_to_another_owner()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("nack-unload");
        var subscribe = Shared(topic);
        subscribe.NegativeAckDelayMs = 50;
        subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 2 };
        await PublishAsync(client, topic, Keyed("moved"));

        var counts = new List<int>();
        await using (var consumer = await NackStream.SubscribeAsync(client, subscribe))
        {
            counts.AddRange(await NackEverythingAsync(consumer, until: 2));
            // Negatively acknowledged, waiting for its delay, when the topic goes.
            await fixture.Broker.Server.Topics.UnloadAsync(Naming.TopicName.Parse(topic));
            Assert.Equal(StatusCode.Unavailable, (await consumer.EndedAsync(Wait)).StatusCode);
        }
        await using (var consumer = await NackStream.SubscribeAsync(client, subscribe))
        {
            counts.AddRange(await NackEverythingAsync(consumer, until: 1));
            Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(800)));
        }
        Assert.Equal([0, 1, 2], counts);
        await AssertDeadLetteredOnceAsync(client, $"{topic}-s-DLQ", topic, "moved");
    }

    [Fact]
    public async Task A_negatively_acknowledged_message_comes_back_after_the_delay_and_the_backoff_doubles_it()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("nack-delay");
        var subscribe = Shared(topic);
        subscribe.NegativeAckDelayMs = 300;
        subscribe.NegativeAckMaxDelayMs = 1200;
        await PublishAsync(client, topic, Keyed("slow"));
        await using var consumer = await NackStream.SubscribeAsync(client, subscribe);

        var first = await consumer.ReceiveAsync(Wait);
        Assert.NotNull(first);
        var last = first;
        foreach (var expected in new[] { 300, 600, 1200, 1200 })
        {
            var nacked = Stopwatch.StartNew();
            await consumer.NackAsync(last.Delivery.MessageId);
            var again = await consumer.ReceiveAsync(Wait);
            Assert.NotNull(again);
            // The broker's timer may fire a clock tick early; never more.
            Assert.True(nacked.ElapsedMilliseconds >= expected - 20, $"redelivered after {nacked.ElapsedMilliseconds} ms, before the {expected} ms delay");
            Assert.Equal(last.Delivery.RedeliveryCount + 1, again.Delivery.RedeliveryCount);
            last = again;
        }
    }

    [Fact]
    public async Task A_message_held_past_the_ack_timeout_is_delivered_again_and_an_acknowledged_one_is_not()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("ack-timeout");
        var subscribe = Shared(topic);
        subscribe.AckTimeoutMs = 1000;
        await PublishAsync(client, topic, Keyed("held"));
        await PublishAsync(client, topic, Keyed("acked"));
        await using var consumer = await NackStream.SubscribeAsync(client, subscribe);

        var held = await consumer.ReceiveAsync(Wait);
        var acked = await consumer.ReceiveAsync(Wait);
        var received = Stopwatch.StartNew();
        Assert.NotNull(held);
        Assert.NotNull(acked);
        Assert.Equal("", await consumer.AckAsync(acked.Delivery.MessageId));
        var again = await consumer.ReceiveAsync(Wait);
        Assert.NotNull(again);
        Assert.True(received.ElapsedMilliseconds >= 950, $"redelivered after {received.ElapsedMilliseconds} ms");
        Assert.Equal("held", again.Delivery.Batch.Messages[0].Payload.ToStringUtf8());
        Assert.Equal(1, again.Delivery.RedeliveryCount);
        Assert.Equal("", await consumer.AckAsync(again.Delivery.MessageId));
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(1500)));
    }

    [Fact]
    public async Task A_message_never_acknowledged_goes_to_the_dead_letter_topic_after_max_plus_one_ack_timeouts()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("ack-timeout-dlq");
        var subscribe = Shared(topic);
        subscribe.AckTimeoutMs = 1000;
        subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 1 };
        await PublishAsync(client, topic, Keyed("ignored"));
        await using var consumer = await NackStream.SubscribeAsync(client, subscribe);

        var first = await consumer.ReceiveAsync(Wait);
        var second = await consumer.ReceiveAsync(Wait);
        Assert.Equal([0, 1], new[] { first!.Delivery.RedeliveryCount, second!.Delivery.RedeliveryCount });
        await AssertDeadLetteredOnceAsync(client, $"{topic}-s-DLQ", topic, "ignored");
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task While_the_dead_letter_topic_cannot_be_written_the_message_waits_and_the_others_are_still_delivered()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("dlq-waits");
        var ns = new Naming.NamespaceName("public", $"later-{Guid.NewGuid():N}");
        var subscribe = Shared(topic);
        subscribe.NegativeAckDelayMs = 50;
        subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 1, DeadLetterTopic = $"persistent://{ns}/dlq" };
        await PublishAsync(client, topic, Keyed("poison"));
        await using var consumer = await NackStream.SubscribeAsync(client, subscribe);

        Assert.Equal([0, 1], await NackEverythingAsync(consumer, until: 2));
        // Its namespace does not exist yet: the move fails, is tried again, and holds up nothing else.
        await PublishAsync(client, topic, Keyed("fine"));
        var fine = await consumer.ReceiveAsync(Wait);
        Assert.Equal("fine", fine!.Delivery.Batch.Messages[0].Payload.ToStringUtf8());
        Assert.Equal("", await consumer.AckAsync(fine.Delivery.MessageId));

        await fixture.Broker.Metadata.PutAsync(Metadata.MetadataPaths.Namespace(ns), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new
        {
            replication_clusters = new[] { "standalone" },
            bundles = Ownership.NamespaceBundles.Even(ns, 4).ToData(),
        }, Metadata.PolicyStore.Json));
        await AssertDeadLetteredOnceAsync(client, $"persistent://{ns}/dlq", topic, "poison");
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task ReconsumeLater_sends_the_message_through_the_retry_topic_and_past_the_maximum_to_the_dead_letter_topic()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("retry");
        var subscribe = Shared(topic);
        subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 2 };
        await PublishAsync(client, topic, Keyed("again"));
        await using var consumer = await NackStream.SubscribeAsync(client, subscribe);
        var retrySubscribe = Shared($"{topic}-s-RETRY");
        retrySubscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 2 };
        await using var retries = await NackStream.SubscribeAsync(client, retrySubscribe);

        var message = await consumer.ReceiveAsync(Wait);
        Assert.NotNull(message);
        Assert.Equal("", await consumer.ReconsumeLaterAsync(message.Delivery.MessageId, 100, new() { ["why"] = "busy" }));
        Assert.Null(await consumer.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
        for (var times = 1; times <= 2; times++)
        {
            var retried = await retries.ReceiveAsync(Wait);
            Assert.NotNull(retried);
            var m = retried.Delivery.Batch.Messages[0];
            Assert.Equal("again", m.Payload.ToStringUtf8());
            Assert.Equal(times.ToString(), m.Properties["RECONSUMETIMES"]);
            Assert.Equal("busy", m.Properties["why"]);
            Assert.Equal(topic, m.Properties["REAL_TOPIC"]);
            Assert.Equal("key-again", m.Key);
            Assert.Equal("", await retries.ReconsumeLaterAsync(retried.Delivery.MessageId, 100, []));
        }
        Assert.Null(await retries.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
        await AssertDeadLetteredOnceAsync(client, $"{topic}-s-DLQ", topic, "again");
    }

    [Theory]
    [InlineData("negative-delay")]
    [InlineData("negative-max-delay")]
    [InlineData("short-ack-timeout")]
    [InlineData("negative-max-redeliver")]
    [InlineData("bad-dlq-name")]
    public async Task Bad_settings_are_refused_with_INVALID_ARGUMENT_and_nothing_is_created(string bad)
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("nack-refused");
        var subscribe = Shared(topic);
        switch (bad)
        {
            case "negative-delay": subscribe.NegativeAckDelayMs = -1; break;
            case "negative-max-delay": subscribe.NegativeAckMaxDelayMs = -5; break;
            case "short-ack-timeout": subscribe.AckTimeoutMs = 999; break;
            case "negative-max-redeliver": subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = -1 }; break;
            case "bad-dlq-name": subscribe.DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 1, DeadLetterTopic = "a/b/c/d" }; break;
        }
        var e = await Assert.ThrowsAsync<RpcException>(() => NackStream.SubscribeAsync(client, subscribe));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await client.GetLastMessageIdAsync(new GetLastMessageIdRequest { Topic = topic }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_negative_ack_of_a_message_the_topic_does_not_have_is_refused()
    {
        var client = fixture.Broker.Client();
        var topic = BrokerFixture.NewTopic("nack-unknown");
        await PublishAsync(client, topic, Keyed("x"));
        await using var consumer = await NackStream.SubscribeAsync(client, Shared(topic));
        var message = await consumer.ReceiveAsync(Wait);
        Assert.NotNull(message);
        await consumer.NackAsync(new MessageId { LedgerId = message.Delivery.MessageId.LedgerId, EntryId = message.Delivery.MessageId.EntryId + 1000, Partition = -1 });
        var status = await consumer.EndedAsync(Wait);
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains("does not exist", status.Detail);
    }

    [Fact]
    public async Task A_grpc_js_client_sends_a_negative_ack_and_gets_the_message_again_with_redelivery_count_1()
    {
        var address = new Uri(fixture.Broker.Url).Authority;
        var (exit, output, errors) = await NodeScript.RunAsync("negative-ack.js", TimeSpan.FromSeconds(60), address, BrokerFixture.NewTopic("node-nack"));
        Assert.True(exit == 0, $"node exited with {exit}:\n{output}{errors}");
        Assert.Contains("\"ok\":true", output, StringComparison.Ordinal);
    }

    /// <summary>Nacks every message until <paramref name="until"/> arrivals; answers their redelivery counts.</summary>
    internal static async Task<List<int>> NackEverythingAsync(NackStream consumer, int until)
    {
        var counts = new List<int>();
        while (counts.Count < until)
        {
            var message = await consumer.ReceiveAsync(Wait);
            Assert.NotNull(message);
            counts.Add(message.Delivery.RedeliveryCount);
            await consumer.NackAsync(message.Delivery.MessageId);
        }
        return counts;
    }

    internal static async Task AssertDeadLetteredOnceAsync(Messaging.MessagingClient client, string deadLetterTopic, string topic, string payload)
    {
        await using var dlq = await NackStream.SubscribeAsync(client, Shared(deadLetterTopic, "check"));
        var dead = await dlq.ReceiveAsync(Wait);
        Assert.NotNull(dead);
        var m = Assert.Single(dead.Delivery.Batch.Messages);
        Assert.Equal(payload, m.Payload.ToStringUtf8());
        Assert.Equal("key-" + payload, m.Key);
        Assert.Equal(1234, m.EventTimeMs);
        Assert.Equal(payload, m.Properties["p"]);
        Assert.Equal(topic, m.Properties["REAL_TOPIC"]);
        Assert.Matches(@"^\d+:\d+:-1:0$", m.Properties["ORIGIN_MESSAGE_ID"]);
        Assert.Null(await dlq.ReceiveAsync(TimeSpan.FromMilliseconds(500)));
    }
}

/// <summary>A raw Consume stream that keeps whole deliveries and sends negative acks and ReconsumeLater.</summary>
internal sealed class NackStream : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<ConsumeRequest, ConsumeResponse> _call;
    private readonly Channel<(ConsumeResponse Response, long At)> _deliveries = Channel.CreateUnbounded<(ConsumeResponse, long)>();
    private readonly Dictionary<ulong, TaskCompletionSource<string>> _receipts = [];
    private readonly TaskCompletionSource<Status> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reading;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private ulong _nextRequest;

    private NackStream(AsyncDuplexStreamingCall<ConsumeRequest, ConsumeResponse> call)
    {
        _call = call;
        _reading = Task.Run(ReadAsync);
    }

    public static async Task<NackStream> SubscribeAsync(Messaging.MessagingClient client, Subscribe subscribe, uint permits = 1000)
    {
        var call = client.Consume();
        await call.RequestStream.WriteAsync(new ConsumeRequest { Subscribe = subscribe });
        if (!await call.ResponseStream.MoveNext(CancellationToken.None))
            throw new InvalidOperationException("The broker ended the stream without answering Subscribe.");
        var stream = new NackStream(call);
        await stream.WriteAsync(new ConsumeRequest { Flow = new Flow { Permits = permits } });
        return stream;
    }

    public async Task<ConsumeResponse?> ReceiveAsync(TimeSpan wait)
    {
        using var timeout = new CancellationTokenSource(wait);
        try
        {
            return (await _deliveries.Reader.ReadAsync(timeout.Token)).Response;
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            return null;
        }
    }

    public Task NackAsync(MessageId id) => WriteAsync(new ConsumeRequest { NegativeAck = new NegativeAck { MessageIds = { id } } });

    public Task<string> AckAsync(MessageId id)
    {
        var request = new Ack { RequestId = Interlocked.Increment(ref _nextRequest), MessageIds = { id } };
        return AnsweredAsync(request.RequestId, new ConsumeRequest { Ack = request });
    }

    public Task<string> ReconsumeLaterAsync(MessageId id, long delayMs, Dictionary<string, string> properties)
    {
        var request = new ReconsumeLater { RequestId = Interlocked.Increment(ref _nextRequest), MessageId = id, DelayMs = delayMs, Properties = { properties } };
        return AnsweredAsync(request.RequestId, new ConsumeRequest { ReconsumeLater = request });
    }

    public Task<Status> EndedAsync(TimeSpan wait) => _ended.Task.WaitAsync(wait);

    private async Task<string> AnsweredAsync(ulong requestId, ConsumeRequest request)
    {
        var receipt = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_receipts)
            _receipts[requestId] = receipt;
        await WriteAsync(request);
        return await receipt.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private async Task WriteAsync(ConsumeRequest request)
    {
        await _writing.WaitAsync();
        try
        {
            await _call.RequestStream.WriteAsync(request);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var response = _call.ResponseStream.Current;
                if (response.ResponseCase == ConsumeResponse.ResponseOneofCase.Delivery)
                {
                    _deliveries.Writer.TryWrite((response, Stopwatch.GetTimestamp()));
                }
                else if (response.ResponseCase == ConsumeResponse.ResponseOneofCase.AckReceipt)
                {
                    TaskCompletionSource<string>? waiting;
                    lock (_receipts)
                        _receipts.Remove(response.AckReceipt.RequestId, out waiting);
                    waiting?.TrySetResult(response.AckReceipt.Error);
                }
            }
            _ended.TrySetResult(Status.DefaultSuccess);
        }
        catch (RpcException e)
        {
            _ended.TrySetResult(e.Status);
        }
        finally
        {
            _deliveries.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
        }
        await _reading;
        _call.Dispose();
        _writing.Dispose();
    }
}
