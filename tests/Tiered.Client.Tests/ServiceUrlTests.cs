using Grpc.Core;
using Tiered.Testing;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

/// <summary>
/// Service URLs that name several brokers: how they are parsed and validated, and how lookups, producers and
/// consumers go on at the next host (test doubles on real sockets; a closed port is a port nobody listens on).
/// </summary>
public sealed class ServiceUrlTests
{
    public static TheoryData<string, string[]> Valid => new()
    {
        { "http://127.0.0.1:6650", ["http://127.0.0.1:6650"] },
        { "http://127.0.0.1:6650,127.0.0.1:6651,127.0.0.1:6652", ["http://127.0.0.1:6650", "http://127.0.0.1:6651", "http://127.0.0.1:6652"] },
        { "https://broker-1:6651, broker-2:6651", ["https://broker-1:6651", "https://broker-2:6651"] },
        { "http://a:1,http://b:2,https://c:3", ["http://a:1", "http://b:2", "https://c:3"] },
        { "http://[::1]:6650,[::1]:6651", ["http://[::1]:6650", "http://[::1]:6651"] },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void A_service_url_names_its_hosts_in_order_with_the_scheme_given_once_or_for_each(string serviceUrl, string[] hosts)
    {
        Assert.Equal(hosts, ServiceUrls.Parse(serviceUrl));
        new TieredClientOptions { ServiceUrl = serviceUrl }.Validate();
    }

    [Theory]
    [InlineData("http://a:1,,b:2", "host 2 of 3 is empty")]
    [InlineData("http://a:1,", "host 2 of 2 is empty")]
    [InlineData("a:1,b:2", "has no scheme")]
    [InlineData("http://a:1,b:port", "'b:port'")]
    [InlineData("http://a:1,ftp://b:2", "'ftp://b:2'")]
    [InlineData("ftp://a:1,b:2", "'ftp://a:1'")]
    [InlineData("127.0.0.1:6650", "is not an http:// or https:// address")]
    [InlineData(" ", "is empty")]
    public void A_bad_service_url_is_refused_with_a_message_naming_the_bad_part(string serviceUrl, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => new TieredClientOptions { ServiceUrl = serviceUrl }.Validate());
        Assert.Equal(nameof(TieredClientOptions.ServiceUrl), e.ParamName);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new TieredClient(serviceUrl));
    }

    [Fact]
    public async Task A_lookup_goes_on_at_the_next_host_when_the_first_is_a_closed_port_and_then_starts_there()
    {
        await using var live = await FakeBroker.StartAsync();
        var closed = $"127.0.0.1:{TieredProcess.FreePort()}";
        await using var client = Fast($"http://{closed},{new Uri(live.Url).Authority}");
        Assert.Equal([$"http://{closed}", $"http://{new Uri(live.Url).Authority}"], client.ServiceHosts);

        var lookup = await client.LookupAsync("orders").Within("the lookup");
        Assert.Equal(live.Url.TrimEnd('/'), lookup.BrokerUrl.TrimEnd('/'));

        await using var producer = await client.CreateProducerAsync(new ProducerOptions("orders")).Within("the producer");
        await producer.SendAsync(Text("m0")).Within("the receipt");
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("orders", "s") { InitialPosition = SubscriptionInitialPosition.Earliest }).Within("the consumer");
        Assert.Equal("m0", Text((await consumer.ReceiveAsync().Within("m0")).Payload));
    }

    [Fact]
    public async Task A_host_answering_unavailable_without_an_owner_is_passed_over_and_the_next_answers()
    {
        await using var stopping = await FakeBroker.StartAsync();
        await using var live = await FakeBroker.StartAsync();
        stopping.RefuseLookup = _ => new RpcException(new Status(StatusCode.Unavailable, "The broker is shutting down."));
        await using var client = Fast($"{stopping.Url},{live.Url}");

        var lookup = await client.LookupAsync("orders").Within("the lookup");

        Assert.Equal(live.Url.TrimEnd('/'), lookup.BrokerUrl.TrimEnd('/'));
        Assert.Equal(1, stopping.Lookups);
        Assert.Equal(1, live.Lookups);

        // The host that answered is asked first from now on.
        for (var i = 0; i < 3; i++)
            await client.LookupAsync($"orders-{i}").Within("another lookup");
        Assert.Equal(1, stopping.Lookups);
        Assert.Equal(4, live.Lookups);
    }

    [Fact]
    public async Task A_permanent_refusal_is_not_asked_of_the_other_hosts()
    {
        await using var first = await FakeBroker.StartAsync();
        await using var second = await FakeBroker.StartAsync();
        first.RefuseLookup = _ => new RpcException(new Status(StatusCode.NotFound, "Namespace nowhere/ns does not exist."));
        await using var client = Fast($"{first.Url},{second.Url}");

        var e = await Assert.ThrowsAsync<TieredClientException>(() => client.LookupAsync("nowhere/ns/t").Within("the refusal"));

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, second.Lookups);
    }

    [Fact]
    public async Task When_every_host_is_down_the_error_names_each_of_them()
    {
        var hosts = new[] { $"127.0.0.1:{TieredProcess.FreePort()}", $"127.0.0.1:{TieredProcess.FreePort()}", $"127.0.0.1:{TieredProcess.FreePort()}" };
        await using var client = Fast("http://" + string.Join(',', hosts));

        var lookup = await Assert.ThrowsAsync<TieredClientException>(() => client.LookupAsync("orders").Within("the failure"));
        var producer = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("orders")).Within("the failure"));

        foreach (var e in new[] { lookup, producer })
        {
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.Contains("each of the 3 service URL hosts", e.Message, StringComparison.Ordinal);
            foreach (var host in hosts)
                Assert.Contains($"http://{host}: ", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_producer_and_a_consumer_whose_broker_dies_go_on_at_the_next_host_of_the_service_url()
    {
        await using var first = await FakeBroker.StartAsync();
        await using var second = await FakeBroker.StartAsync();
        await using var client = Fast($"{first.Url},{new Uri(second.Url).Authority}");
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("orders")).Within("the producer");
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("orders", "s") { InitialPosition = SubscriptionInitialPosition.Earliest }).Within("the consumer");
        await producer.SendAsync(Text("m0")).Within("the first receipt");
        Assert.Equal("m0", Text((await consumer.ReceiveAsync().Within("m0")).Payload));
        Assert.Equal(1, first.Topic("orders").Count);

        await first.DisposeAsync();
        await producer.SendAsync(Text("m1")).Within("a receipt from the next host");

        Assert.Equal(1, second.Topic("orders").Count);
        Assert.Equal("m1", Text((await consumer.ReceiveAsync().Within("m1 from the next host")).Payload));
        Assert.Single(second.Opens);
    }

    [Fact]
    public async Task A_producer_whose_owner_dies_looks_the_topic_up_again_rather_than_dialing_the_dead_owner()
    {
        await using var lookups = await FakeBroker.StartAsync();
        await using var owner = await FakeBroker.StartAsync();
        await using var next = await FakeBroker.StartAsync();
        lookups.LookupAnswer = new V1.LookupResponse { BrokerUrl = owner.Url };
        await using var client = Fast(lookups.Url);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("orders")).Within("the producer");
        await producer.SendAsync(Text("m0")).Within("the first receipt");

        lookups.LookupAnswer = new V1.LookupResponse { BrokerUrl = next.Url };
        await owner.DisposeAsync();
        await producer.SendAsync(Text("m1")).Within("a receipt from the owner the new lookup names");

        Assert.Equal(1, next.Topic("orders").Count);
        Assert.True(lookups.Lookups >= 3, $"{lookups.Lookups} lookups");
    }

    private static TieredClient Fast(string serviceUrl) => new(new TieredClientOptions
    {
        ServiceUrl = serviceUrl,
        OperationTimeout = TimeSpan.FromSeconds(10),
        ReconnectInitialBackoff = TimeSpan.FromMilliseconds(20),
        ReconnectMaxBackoff = TimeSpan.FromMilliseconds(200),
    });
}
