using System.Text;
using Tiered.Testing;

namespace Tiered.Client.Tests;

/// <summary>Service URLs that name several hosts, against a real broker (metadata service, bookie and broker in this process).</summary>
public sealed class ServiceUrlBrokerTests : IAsyncLifetime
{
    private LocalBroker _broker = null!;

    public async Task InitializeAsync() => _broker = await LocalBroker.StartAsync();

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    private static string NewTopic() => $"persistent://public/default/failover-{Guid.NewGuid():N}";

    private static string Text(ReceivedMessage message) => Encoding.UTF8.GetString(message.Payload.Span);

    private static TieredClient ClientOf(string serviceUrl) => new(new TieredClientOptions
    {
        ServiceUrl = serviceUrl,
        OperationTimeout = TimeSpan.FromSeconds(20),
        ReconnectInitialBackoff = TimeSpan.FromMilliseconds(20),
        ReconnectMaxBackoff = TimeSpan.FromMilliseconds(300),
    });

    [Fact]
    public async Task With_a_closed_port_first_in_the_service_url_lookups_produce_and_consume_reach_the_broker_behind_the_next()
    {
        var topic = NewTopic();
        await using var client = ClientOf($"http://127.0.0.1:{TieredProcess.FreePort()},{new Uri(_broker.Url).Authority}");

        var lookup = await client.LookupAsync(topic).Within("the lookup");
        Assert.Equal(_broker.Url, lookup.BrokerUrl);

        await using var consumer = await client.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest }).Within("the consumer");
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions(topic)).Within("the producer"))
        {
            for (var i = 0; i < 10; i++)
                await producer.SendAsync(Encoding.UTF8.GetBytes($"m{i}")).Within("a receipt");
        }
        for (var i = 0; i < 10; i++)
            Assert.Equal($"m{i}", Text(await consumer.ReceiveAsync().Within($"m{i}")));
    }

    [Fact]
    public async Task A_producer_and_a_consumer_follow_their_broker_restarted_on_another_port_that_the_service_url_names()
    {
        var topic = NewTopic();
        var newPort = TieredProcess.FreePort();
        await using var client = ClientOf($"{_broker.Url},127.0.0.1:{newPort}");
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions(topic, "s") { InitialPosition = SubscriptionInitialPosition.Earliest }).Within("the consumer");
        await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic)).Within("the producer");
        await producer.SendAsync(Encoding.UTF8.GetBytes("before")).Within("the first receipt");
        await consumer.AcknowledgeAsync(await consumer.ReceiveAsync().Within("the first message")).Within("the acknowledgement");

        await _broker.StopBrokerAsync();
        var whileDown = producer.SendAsync(Encoding.UTF8.GetBytes("while down")).AsTask();
        await _broker.StartBrokerAsync(o => o with { GrpcListen = $"127.0.0.1:{newPort}" });

        var id = await whileDown.Within("the receipt of the message sent while the broker was down", TimeSpan.FromSeconds(30));
        Assert.True(id.LedgerId >= 0);
        await producer.SendAsync(Encoding.UTF8.GetBytes("after")).Within("a receipt from the moved broker");
        Assert.Equal("while down", Text(await consumer.ReceiveAsync().Within("the message sent while the broker was down", TimeSpan.FromSeconds(30))));
        Assert.Equal("after", Text(await consumer.ReceiveAsync().Within("the message sent after")));
        Assert.Equal($"http://127.0.0.1:{newPort}", (await client.LookupAsync(topic).Within("a lookup")).BrokerUrl);
    }
}
