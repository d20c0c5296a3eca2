using Grpc.Core;
using Tiered.Broker.Naming;
using Tiered.Broker.Ownership;
using Tiered.Broker.Service;
using Tiered.Testing;
using Tiered.V1;

namespace Tiered.Broker.Tests;

/// <summary>
/// Every gRPC path to a topic passes the ownership gate: a topic another broker owns is answered
/// with that broker's address and never opened here (opening it would fence its real owner).
/// </summary>
public class OwnershipGateTests(GatedBrokerFixture fixture) : IClassFixture<GatedBrokerFixture>
{
    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(20);

    private Messaging.MessagingClient Client => fixture.Client;

    private static string NewTopic(string prefix) => $"persistent://public/default/{prefix}-{Guid.NewGuid():N}";

    private static void AssertRedirected(RpcException e)
    {
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal("owned-elsewhere", e.Trailers.GetValue(BrokerErrorInterceptor.ErrorTrailer));
        Assert.Equal(FakeOwnershipGate.Other.GrpcUrl, e.Trailers.GetValue(BrokerErrorInterceptor.OwnerTrailer));
        Assert.Equal(FakeOwnershipGate.Other.HttpUrl, e.Trailers.GetValue(BrokerErrorInterceptor.OwnerHttpTrailer));
        Assert.Contains(FakeOwnershipGate.Other.GrpcUrl, e.Status.Detail);
    }

    [Fact]
    public async Task Lookup_of_a_topic_owned_elsewhere_answers_the_owners_address_and_opens_nothing()
    {
        var topic = NewTopic("away");
        var answer = await Client.LookupAsync(new LookupRequest { Topic = topic }, deadline: Deadline);
        Assert.Equal(FakeOwnershipGate.Other.GrpcUrl, answer.BrokerUrl);
        Assert.Equal("10.1.2.3:6650", answer.BrokerAddress);
        Assert.False(answer.BrokerTls);
        Assert.Equal(0, answer.Partitions);
        await fixture.AssertNotOpenedAsync(topic);
    }

    [Fact]
    public async Task Lookup_of_a_local_topic_answers_this_broker()
    {
        var answer = await Client.LookupAsync(new LookupRequest { Topic = NewTopic("here") }, deadline: Deadline);
        Assert.Equal(fixture.Server.Topics.Options.ResolvedAdvertisedUrl, answer.BrokerUrl);
    }

    [Fact]
    public async Task Lookup_of_a_topic_nobody_owns_acquires_it_and_answers_this_broker()
    {
        var topic = NewTopic("free");
        var answer = await Client.LookupAsync(new LookupRequest { Topic = topic }, deadline: Deadline);
        Assert.Equal(fixture.Server.Topics.Options.ResolvedAdvertisedUrl, answer.BrokerUrl);
        Assert.Contains(TopicName.Parse(topic), fixture.Gate.Acquired);
        // A lookup claims the bundle but opens nothing.
        await fixture.AssertNotOpenedAsync(topic);
    }

    [Fact]
    public async Task Once_the_policy_cache_is_warm_a_lookup_reads_nothing_from_the_metadata_service()
    {
        var topics = new[] { NewTopic("here"), NewTopic("away") };
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!fixture.Server.Topics.Policies.Cache.IsLive)
        {
            Assert.True(DateTime.UtcNow < deadline, "The policy cache's watch did not start.");
            await Client.LookupAsync(new LookupRequest { Topic = topics[0] }, deadline: Deadline);
            await Task.Delay(10);
        }
        foreach (var topic in topics)
            await Client.LookupAsync(new LookupRequest { Topic = topic }, deadline: Deadline);
        var reads = fixture.BrokerStore.Reads;
        for (var i = 0; i < 50; i++)
        {
            foreach (var topic in topics)
                await Client.LookupAsync(new LookupRequest { Topic = topic }, deadline: Deadline);
        }
        Assert.Equal(reads, fixture.BrokerStore.Reads);
    }

    [Fact]
    public async Task Produce_to_a_topic_owned_elsewhere_is_refused_with_the_owner_and_opens_nothing()
    {
        var topic = NewTopic("away");
        var e = await Assert.ThrowsAsync<RpcException>(() => RawProducer.OpenAsync(Client, topic));
        AssertRedirected(e);
        await fixture.AssertNotOpenedAsync(topic);
    }

    [Fact]
    public async Task Consume_from_a_topic_owned_elsewhere_is_refused_with_the_owner_and_opens_nothing()
    {
        var topic = NewTopic("away");
        var e = await Assert.ThrowsAsync<RpcException>(() => RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = topic, Subscription = "s" }));
        AssertRedirected(e);
        var reader = await Assert.ThrowsAsync<RpcException>(() => RawConsumer.SubscribeAsync(Client, new Subscribe { Topic = topic, Reader = true }));
        AssertRedirected(reader);
        await fixture.AssertNotOpenedAsync(topic);
    }

    [Fact]
    public async Task Seek_and_GetLastMessageId_on_a_topic_owned_elsewhere_are_refused_with_the_owner_and_open_nothing()
    {
        var topic = NewTopic("away");
        var seek = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.SeekAsync(new SeekRequest { Topic = topic, Subscription = "s", PublishTimeMs = 1 }, deadline: Deadline));
        AssertRedirected(seek);
        var last = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.GetLastMessageIdAsync(new GetLastMessageIdRequest { Topic = topic }, deadline: Deadline));
        AssertRedirected(last);
        await fixture.AssertNotOpenedAsync(topic);
    }

    [Fact]
    public async Task Refusals_carry_their_stable_code_in_a_trailer()
    {
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await Client.GetLastMessageIdAsync(new GetLastMessageIdRequest { Topic = NewTopic("here") }, deadline: Deadline));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Equal("topic-not-found", e.Trailers.GetValue(BrokerErrorInterceptor.ErrorTrailer));
    }

    [Fact]
    public async Task A_lost_bundle_unloads_its_topics_and_sends_their_producers_and_consumers_to_the_new_owner()
    {
        await fixture.Store.PutAsync("/admin/policies/public/moving", """{"replication_clusters":["standalone"]}"""u8.ToArray());
        var topic = $"persistent://public/moving/t-{Guid.NewGuid():N}";
        using var producer = Client.Produce();
        await producer.RequestStream.WriteAsync(new ProduceRequest { Open = new OpenProducer { Topic = topic } });
        Assert.True(await producer.ResponseStream.MoveNext(CancellationToken.None));
        using var consumer = Client.Consume();
        await consumer.RequestStream.WriteAsync(new ConsumeRequest { Subscribe = new Subscribe { Topic = topic, Subscription = "s" } });
        Assert.True(await consumer.ResponseStream.MoveNext(CancellationToken.None));
        var name = TopicName.Parse(topic);
        Assert.NotNull(fixture.Server.Topics.FindLoaded(name));
        var newOwner = new BrokerUrls("http://10.4.5.6:6650", "http://10.4.5.6:8080");

        await fixture.Gate.Listener!.OnBundleLostAsync(NamespaceBundle.Whole(name.Namespace), newOwner, CancellationToken.None);

        Assert.Null(fixture.Server.Topics.FindLoaded(name));
        foreach (var ended in new[] { await EndOfAsync(producer.ResponseStream), await EndOfAsync(consumer.ResponseStream) })
        {
            Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
            Assert.Equal("owned-elsewhere", ended.Trailers.GetValue(BrokerErrorInterceptor.ErrorTrailer));
            Assert.Equal(newOwner.GrpcUrl, ended.Trailers.GetValue(BrokerErrorInterceptor.OwnerTrailer));
            Assert.Equal(newOwner.HttpUrl, ended.Trailers.GetValue(BrokerErrorInterceptor.OwnerHttpTrailer));
        }
    }

    /// <summary>Reads a response stream to its end, which must be an error status.</summary>
    private static Task<RpcException> EndOfAsync<T>(IAsyncStreamReader<T> responses) => Assert.ThrowsAsync<RpcException>(async () =>
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (await responses.MoveNext(timeout.Token))
        {
        }
    });

    [Fact]
    public void A_bundle_holds_the_topics_whose_hash_falls_in_its_range()
    {
        var ns = new NamespaceName("public", "default");
        var topic = new TopicName(ns, "t");
        var hash = NamespaceBundle.HashOf(topic);
        Assert.True(NamespaceBundle.Whole(ns).Contains(topic));
        // [lower, upper): the upper bound belongs to the next bundle, except 0xffffffff to the last.
        Assert.True(new NamespaceBundle(ns, hash, hash + 1).Contains(topic));
        Assert.False(hash > 0 && new NamespaceBundle(ns, 0, hash).Contains(topic));
        Assert.True(new NamespaceBundle(ns, 0, uint.MaxValue).Contains(uint.MaxValue));
        Assert.False(hash < uint.MaxValue && new NamespaceBundle(ns, hash + 1, uint.MaxValue).Contains(topic));
        Assert.False(NamespaceBundle.Whole(new NamespaceName("public", "other")).Contains(topic));
        Assert.Equal("public/default/0x00000000_0xffffffff", NamespaceBundle.Whole(ns).ToString());
    }

    [Fact]
    public void Bundles_cut_the_hash_space_evenly_find_every_hash_once_and_split_in_the_middle()
    {
        var ns = new NamespaceName("public", "default");
        var four = NamespaceBundles.Even(ns, 4);
        Assert.Equal([0u, 0x40000000u, 0x80000000u, 0xc0000000u, uint.MaxValue], four.Boundaries);
        Assert.Equal("0x40000000_0x80000000", four.Find(0x40000000).Range);
        Assert.Equal("0x00000000_0x40000000", four.Find(0x3fffffff).Range);
        Assert.Equal("0xc0000000_0xffffffff", four.Find(uint.MaxValue).Range);
        Assert.True(four.TryGet("0x80000000_0xc0000000", out var third));
        Assert.False(four.TryGet("0x80000000_0xd0000000", out _));
        Assert.False(four.TryGet("nonsense", out _));
        var five = four.Split(third);
        Assert.Equal([0u, 0x40000000u, 0x80000000u, 0xa0000000u, 0xc0000000u, uint.MaxValue], five.Boundaries);
        Assert.Equal(five.Boundaries, NamespaceBundles.Parse(five.ToData().Boundaries));
        Assert.Null(NamespaceBundles.Parse(["0x00000000", "0x00000000", "0xffffffff"]));
        Assert.Null(NamespaceBundles.Parse(["0x00000001", "0xffffffff"]));
        Assert.Throws<BrokerException>(() => five.Split(third));
    }
}
