using System.Collections.Concurrent;
using Grpc.Core;
using Tiered.Client.Sessions;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

/// <summary>The reconnecting session under producers and consumers: its backoff and how it follows owner redirects.</summary>
public sealed class SessionTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan Max = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Records the reconnection waits (timers no longer than <see cref="Max"/>) and lets them elapse at once; longer
    /// timers (operation timeouts) run on the real clock.
    /// </summary>
    private sealed class RecordingClock : TimeProvider
    {
        public ConcurrentQueue<TimeSpan> Waits { get; } = new();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime <= TimeSpan.Zero || dueTime > Max || period != Timeout.InfiniteTimeSpan)
                return System.CreateTimer(callback, state, dueTime, period);
            Waits.Enqueue(dueTime);
            return System.CreateTimer(callback, state, TimeSpan.Zero, period);
        }
    }

    private static RpcException Redirect(string ownerUrl, StatusCode status = StatusCode.Unavailable)
        => new(new Status(status, "this broker does not own the topic"), new Grpc.Core.Metadata { { OwnerRedirect.TrailerName, ownerUrl } });

    private static TieredClient ClientOf(FakeBroker broker, TimeProvider? clock = null, Random? jitter = null) => new(new TieredClientOptions
    {
        ServiceUrl = broker.Url,
        OperationTimeout = TimeSpan.FromSeconds(10),
        ReconnectInitialBackoff = Initial,
        ReconnectMaxBackoff = Max,
        TimeProvider = clock ?? TimeProvider.System,
    })
    {
        Jitter = jitter ?? Random.Shared,
    };

    [Fact]
    public async Task A_producer_backs_off_with_growing_capped_waits_and_starts_again_from_the_shortest_after_it_opened()
    {
        await using var broker = await FakeBroker.StartAsync();
        var refusals = 5;
        broker.RefuseProducer = _ => Interlocked.Decrement(ref refusals) >= 0 ? new RpcException(new Status(StatusCode.Unavailable, "starting")) : null;
        var clock = new RecordingClock();
        await using var client = ClientOf(broker, clock, new BackoffTests.ScriptedRandom(1));
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("backoff"));
        Assert.Equal([60, 180, 500, 500, 500], clock.Waits.Select(w => w.TotalMilliseconds));

        broker.FailProduceStreamAtBatch = 1;
        await producer.SendAsync(Text("m0")).AsTask().Within("the message, resent after the stream was cut");
        Assert.Equal([60, 180, 500, 500, 500, 60], clock.Waits.Select(w => w.TotalMilliseconds));
    }

    [Fact]
    public async Task A_producer_refused_with_the_owner_trailer_opens_at_the_owner_without_waiting()
    {
        await using var owner = await FakeBroker.StartAsync();
        await using var asked = await FakeBroker.StartAsync();
        asked.RefuseProducer = _ => Redirect(owner.Url);
        var clock = new RecordingClock();
        await using var client = ClientOf(asked, clock);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("moved"));
        await producer.SendAsync(Text("m0")).AsTask().Within("the receipt from the owner");

        Assert.Single(asked.Opens);
        Assert.Single(owner.Opens);
        Assert.Equal(1, owner.Topic("moved").Count);
        Assert.Equal(0, asked.Topic("moved").Count);
        Assert.Empty(clock.Waits);
    }

    [Fact]
    public async Task A_consumer_refused_with_failed_precondition_and_the_owner_trailer_subscribes_at_the_owner()
    {
        await using var owner = await FakeBroker.StartAsync();
        await using var asked = await FakeBroker.StartAsync();
        asked.RefuseSubscription = _ => Redirect(owner.Url, StatusCode.FailedPrecondition);
        owner.Topic("moved").Append(Batch("p", 0, "m0"));
        await using var client = ClientOf(asked);
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("moved", "sub") { InitialPosition = SubscriptionInitialPosition.Earliest });
        var message = await consumer.ReceiveAsync().AsTask().Within("a message from the owner");
        Assert.Equal("m0", Text(message.Payload));
    }

    [Fact]
    public async Task Brokers_that_redirect_to_each_other_fail_the_producer_after_20_redirects_with_a_clear_error()
    {
        await using var a = await FakeBroker.StartAsync();
        await using var b = await FakeBroker.StartAsync();
        a.RefuseProducer = _ => Redirect(b.Url);
        b.RefuseProducer = _ => Redirect(a.Url);
        await using var client = ClientOf(a);
        var e = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("ping-pong")).Within("the refusal"));
        Assert.Contains("redirected 20 times in a row", e.Message, StringComparison.Ordinal);
        Assert.Equal(OwnerRedirect.MaxRedirects + 1, a.Opens.Count + b.Opens.Count);
    }

    [Fact]
    public async Task A_lookup_answered_with_the_owner_trailer_is_asked_again_at_the_owner()
    {
        await using var owner = await FakeBroker.StartAsync();
        await using var asked = await FakeBroker.StartAsync();
        asked.RefuseLookup = _ => Redirect(new Uri(owner.Url).Authority);
        await using var client = ClientOf(asked);
        var lookup = await client.LookupAsync("moved");
        Assert.Equal(owner.Url.TrimEnd('/'), lookup.BrokerUrl.TrimEnd('/'));
        Assert.Equal(1, owner.Lookups);
    }

    [Fact]
    public async Task A_lookup_that_names_another_broker_sends_the_producer_there()
    {
        await using var owner = await FakeBroker.StartAsync();
        await using var asked = await FakeBroker.StartAsync();
        asked.LookupAnswer = new V1.LookupResponse { BrokerAddress = new Uri(owner.Url).Authority };
        await using var client = ClientOf(asked);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("elsewhere"));
        await producer.SendAsync(Text("m0")).AsTask().Within("the receipt");
        Assert.Empty(asked.Opens);
        Assert.Single(owner.Opens);
    }
}
