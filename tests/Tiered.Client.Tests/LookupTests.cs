using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Tiered.V1;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

/// <summary>Lookup answers in either form (broker_address + broker_tls, or only broker_url) send the client to that broker.</summary>
public class LookupTests
{
    public static TheoryData<string> Forms => ["address", "url", "bare url", "both"];

    [Theory]
    [MemberData(nameof(Forms))]
    public async Task The_client_produces_and_consumes_at_the_broker_a_lookup_names_in_either_form(string form)
    {
        await using var lookup = await FakeBroker.StartAsync();
        await using var data = await FakeBroker.StartAsync();
        var address = new Uri(data.Url).Authority;
        lookup.LookupAnswer = form switch
        {
            "address" => new LookupResponse { BrokerAddress = address },
            "url" => new LookupResponse { BrokerUrl = data.Url },
            "bare url" => new LookupResponse { BrokerUrl = address },
            _ => new LookupResponse { BrokerUrl = data.Url, BrokerAddress = address },
        };
        await using var client = For(lookup);

        var answer = await client.LookupAsync("orders").Within("the lookup");
        Assert.Equal($"http://{address}", answer.BrokerUrl);
        Assert.Equal(address, answer.BrokerAddress);
        Assert.False(answer.BrokerTls);

        await using (var producer = await client.CreateProducerAsync(new ProducerOptions("orders")).Within("the producer"))
            await producer.SendAsync(Text("hello")).Within("a receipt");
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions("orders", "s") { InitialPosition = SubscriptionInitialPosition.Earliest }).Within("the consumer");
        Assert.Equal("hello", Text((await consumer.ReceiveAsync().Within("the message")).Payload));
        Assert.Equal(1, data.Topic("orders").Count);
        Assert.Equal(0, lookup.Topic("orders").Count);
    }

    [Fact]
    public async Task A_service_url_at_an_http_1_1_only_port_fails_at_once_and_says_it_looks_like_the_admin_port()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        await using var admin = builder.Build();
        admin.MapGet("/", () => "admin");
        await admin.StartAsync();
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = admin.Urls.First(), OperationTimeout = TimeSpan.FromSeconds(30) });

        var error = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("orders")).Within("the refusal", TimeSpan.FromSeconds(10)));

        Assert.True(error.ServerRefusedHttp2);
        Assert.Contains("admin REST port", error.Message, StringComparison.Ordinal);
        Assert.Contains("gRPC port (default 6650)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tls_broker_address_becomes_an_https_url()
    {
        var response = new LookupResponse { BrokerAddress = "[::1]:6651", BrokerTls = true };
        TieredClient.Normalize(response, TieredClientOptions.DefaultServiceUrl);
        Assert.Equal("https://[::1]:6651", response.BrokerUrl);
    }
}
