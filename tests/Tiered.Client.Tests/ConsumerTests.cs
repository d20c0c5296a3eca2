using Grpc.Core;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

public class ConsumerTests
{
    [Fact]
    public async Task A_batch_is_unpacked_into_its_messages_skipping_the_acknowledged_batch_indexes()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Topic("unpack").Append(Batch("p", 100, "a", "b", "c", "d", "e"));
        broker.Subscription("unpack", "s").Ack(0, 1);
        broker.Subscription("unpack", "s").Ack(0, 3);
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("unpack", "s") { InitialPosition = SubscriptionInitialPosition.Earliest });

        var received = new List<ReceivedMessage>();
        for (var i = 0; i < 3; i++)
            received.Add(await consumer.ReceiveAsync().Within("a message"));

        Assert.Equal(["a", "c", "e"], received.Select(m => Text(m.Payload)));
        Assert.Equal([0, 2, 4], received.Select(m => m.Id.BatchIndex));
        Assert.All(received, m => Assert.Equal(new MessageId(FakeBroker.LedgerId, 0, -1, m.Id.BatchIndex), m.Id));
        Assert.All(received, m => Assert.Equal(5, m.BatchSize));
        Assert.Equal([100UL, 102UL, 104UL], received.Select(m => m.SequenceId));
        Assert.Equal(["k-a", "k-c", "k-e"], received.Select(m => m.Key));
        Assert.All(received, m => Assert.Equal("p", m.ProducerName));
        Assert.All(received, m => Assert.Equal("unpack", m.Topic));
        Assert.All(received, m => Assert.Equal(1_700_000_000_000, m.PublishTimeMs));
    }

    [Fact]
    public async Task The_broker_is_never_granted_more_permits_than_the_receive_queue_has_room_for()
    {
        await using var broker = await FakeBroker.StartAsync();
        for (var i = 0; i < 100; i++)
            broker.Topic("permits").Append(Batch("p", (ulong)i, $"m{i}"));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("permits", "s") { InitialPosition = SubscriptionInitialPosition.Earliest, ReceiverQueueSize = 10 });

        await Eventually.WaitUntilAsync(() => broker.Delivered == 10, "the first 10 messages are pushed");
        await Task.Delay(100);
        Assert.Equal(10, broker.PermitsGranted);
        Assert.Equal(10, broker.Delivered);

        for (var i = 0; i < 100; i++)
        {
            var message = await consumer.ReceiveAsync().Within($"message {i}");
            Assert.Equal($"m{i}", Text(message.Payload));
            Assert.True(broker.PermitsGranted <= i + 1 + 10, $"{broker.PermitsGranted} permits granted after {i + 1} messages were received");
        }
        Assert.True(broker.Delivered <= broker.PermitsGranted);
    }

    [Fact]
    public async Task Permits_keep_flowing_when_batches_are_larger_than_the_permits_left()
    {
        await using var broker = await FakeBroker.StartAsync();
        for (var i = 0; i < 100; i++)
            broker.Topic("batches").Append(Batch("p", (ulong)(i * 7), [.. Enumerable.Range(0, 7).Select(j => $"m{(i * 7) + j}")]));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("batches", "s") { InitialPosition = SubscriptionInitialPosition.Earliest, ReceiverQueueSize = 10 });

        for (var i = 0; i < 700; i++)
            Assert.Equal($"m{i}", Text((await consumer.ReceiveAsync().Within($"message {i}")).Payload));
        Assert.True(broker.PermitsGranted <= 700 + 10);
    }

    [Fact]
    public async Task An_acknowledgement_completes_when_its_receipt_arrives_and_names_the_message_in_its_batch()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Topic("acks").Append(Batch("p", 0, "a", "b"));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("acks", "s") { InitialPosition = SubscriptionInitialPosition.Earliest });

        var a = await consumer.ReceiveAsync().Within("a");
        var b = await consumer.ReceiveAsync().Within("b");
        await consumer.AcknowledgeAsync(b).Within("the receipt of b's ack");
        await consumer.AcknowledgeCumulativeAsync(a.Id).Within("the receipt of the cumulative ack");
        await consumer.AcknowledgeAsync([a.Id, b.Id]).Within("the receipt of a list ack");

        Assert.Equal(3, broker.Acks.Count);
        var individual = Assert.Single(broker.Acks[0].MessageIds);
        Assert.False(broker.Acks[0].Cumulative);
        Assert.Equal((0L, 1, 2), (individual.EntryId, individual.BatchIndex, individual.BatchSize));
        Assert.True(broker.Acks[1].Cumulative);
        Assert.Equal(2, broker.Acks[2].MessageIds.Count);
        Assert.Equal(3, broker.Acks.Select(x => x.RequestId).Distinct().Count());
        Assert.True(broker.Subscription("acks", "s").IsAcked(0, 1));
    }

    [Fact]
    public async Task An_ack_receipt_with_an_error_fails_the_acknowledgement_with_it()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Topic("ack-error").Append(Batch("p", 0, "a"));
        broker.AckError = "cursor is fenced";
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("ack-error", "s") { InitialPosition = SubscriptionInitialPosition.Earliest });

        var message = await consumer.ReceiveAsync().Within("a message");
        var error = await Assert.ThrowsAsync<TieredClientException>(() => consumer.AcknowledgeAsync(message));
        Assert.Contains("cursor is fenced", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_subscription_fails_with_the_broker_message()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.RefuseSubscription = s => new RpcException(new Status(StatusCode.FailedPrecondition, $"Exclusive subscription '{s.Subscription}' already has a consumer"));
        await using var client = For(broker);

        var error = await Assert.ThrowsAsync<TieredClientException>(() => client.SubscribeAsync(new ConsumerOptions("busy", "s")));
        Assert.Contains("Exclusive subscription 's' already has a consumer", error.Message, StringComparison.Ordinal);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
    }

    [Fact]
    public async Task After_a_stream_failure_the_consumer_resubscribes_and_the_application_sees_each_redelivery_once()
    {
        await using var broker = await FakeBroker.StartAsync();
        for (var i = 0; i < 20; i++)
            broker.Topic("restart").Append(Batch("p", (ulong)i, $"m{i}"));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("restart", "s") { InitialPosition = SubscriptionInitialPosition.Earliest, ReceiverQueueSize = 10 });

        await Eventually.WaitUntilAsync(() => broker.Delivered == 10, "the queue is full");
        for (var i = 0; i < 2; i++)
        {
            var message = await consumer.ReceiveAsync().Within($"message {i}");
            await consumer.AcknowledgeAsync(message).Within($"the ack of message {i}");
        }
        broker.KillConsumeStreams();
        await Eventually.WaitUntilAsync(() => broker.SubscribeCount == 2, "the consumer subscribes again");

        var seen = new List<string>();
        for (var i = 2; i < 20; i++)
        {
            var message = await consumer.ReceiveAsync().Within($"message {i}");
            seen.Add(Text(message.Payload));
            await consumer.AcknowledgeAsync(message).Within($"the ack of message {i}");
        }
        Assert.Equal(Enumerable.Range(2, 18).Select(i => $"m{i}"), seen);
        Assert.Equal(10 + 10 + 8, broker.Delivered);
        var second = broker.Subscribes[1];
        Assert.Equal("s", second.Subscription);
    }

    [Fact]
    public async Task A_consumer_reconnecting_while_the_broker_still_holds_its_old_stream_retries_until_it_is_let_in()
    {
        await using var broker = await FakeBroker.StartAsync();
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("busy-again", "s"));
        var refusals = 0;
        broker.RefuseSubscription = s => Interlocked.Increment(ref refusals) <= 2
            ? new RpcException(new Status(StatusCode.FailedPrecondition, $"Exclusive subscription '{s.Subscription}' already has a consumer"))
            : null;

        broker.KillConsumeStreams();
        await Eventually.WaitUntilAsync(() => Volatile.Read(ref refusals) >= 3, "the consumer is let in");
        broker.Topic("busy-again").Append(Batch("p", 0, "after"));
        Assert.Equal("after", Text((await consumer.ReceiveAsync().Within("a message after the reconnection")).Payload));
    }

    [Fact]
    public async Task Acknowledgements_without_receipt_are_sent_again_after_a_reconnection()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.Topic("ack-resend").Append(Batch("p", 0, "a"));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("ack-resend", "s") { InitialPosition = SubscriptionInitialPosition.Earliest });
        var message = await consumer.ReceiveAsync().Within("a message");

        broker.KillConsumeStreams();
        var ack = consumer.AcknowledgeAsync(message);
        await ack.Within("the ack receipt, on the new stream");
        Assert.True(broker.Subscription("ack-resend", "s").IsAcked(0, 0));
    }

    [Fact]
    public async Task Redelivery_on_request_empties_the_queue_and_the_broker_sends_the_messages_again()
    {
        await using var broker = await FakeBroker.StartAsync();
        for (var i = 0; i < 5; i++)
            broker.Topic("redeliver").Append(Batch("p", (ulong)i, $"m{i}"));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("redeliver", "s") { InitialPosition = SubscriptionInitialPosition.Earliest, Type = SubscriptionType.Shared });

        Assert.Equal("m0", Text((await consumer.ReceiveAsync().Within("m0")).Payload));
        // Every message must have reached the client's queue: one still in flight when the request is made
        // arrives after it and is delivered as sent (the broker does not tag deliveries with a request epoch).
        await Eventually.WaitUntilAsync(() => consumer.QueuedCount == 4, "every message reached the client");
        await consumer.RedeliverUnacknowledgedAsync();
        await Eventually.WaitUntilAsync(() => broker.RedeliverRequests == 1, "the broker got the request");

        var again = await consumer.ReceiveAsync().Within("a redelivered message");
        Assert.Equal("m0", Text(again.Payload));
        Assert.Equal(1, again.RedeliveryCount);
    }

    [Fact]
    public async Task Redelivery_on_request_drops_the_rest_of_an_entry_the_application_is_half_way_through()
    {
        // The receive queue holds a delivered entry as one item: the messages not yet taken from it are stale after the request.
        await using var broker = await FakeBroker.StartAsync();
        broker.Topic("redeliver-mid").Append(Batch("p", 0, "a", "b", "c", "d"));
        await using var client = For(broker);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("redeliver-mid", "s") { InitialPosition = SubscriptionInitialPosition.Earliest, Type = SubscriptionType.Shared });

        Assert.Equal("a", Text((await consumer.ReceiveAsync().Within("a")).Payload));
        Assert.Equal("b", Text((await consumer.ReceiveAsync().Within("b")).Payload));
        Assert.Equal(2, consumer.QueuedCount);
        await consumer.RedeliverUnacknowledgedAsync();
        await Eventually.WaitUntilAsync(() => broker.RedeliverRequests == 1, "the broker got the request");

        var again = new List<ReceivedMessage>();
        for (var i = 0; i < 4; i++)
            again.Add(await consumer.ReceiveAsync().Within("a redelivered message"));
        Assert.Equal(["a", "b", "c", "d"], again.Select(m => Text(m.Payload)));
        Assert.All(again, m => Assert.Equal(1, m.RedeliveryCount));
    }

    [Fact]
    public async Task A_failover_consumer_reports_whether_it_is_active()
    {
        await using var broker = await FakeBroker.StartAsync();
        broker.FailoverActive = false;
        await using var client = For(broker);
        await using var standby = await client.SubscribeAsync(new ConsumerOptions("failover", "s") { Type = SubscriptionType.Failover, ConsumerName = "b" });
        await Task.Delay(50);
        Assert.False(standby.IsActive);

        broker.FailoverActive = true;
        broker.KillConsumeStreams();
        await Eventually.WaitUntilAsync(() => standby.IsActive, "the consumer becomes active");

        await using var exclusive = await client.SubscribeAsync(new ConsumerOptions("other", "s"));
        Assert.True(exclusive.IsActive);
    }

    [Fact]
    public async Task Receiving_from_a_closed_consumer_fails_clearly()
    {
        await using var broker = await FakeBroker.StartAsync();
        await using var client = For(broker);
        var consumer = await client.SubscribeAsync(new ConsumerOptions("closed", "s"));
        var pending = consumer.ReceiveAsync().AsTask();
        await consumer.DisposeAsync();

        var error = await Assert.ThrowsAsync<TieredClientException>(() => pending.Within("the receive to fail"));
        Assert.Contains("closed", error.Message, StringComparison.Ordinal);
    }
}
