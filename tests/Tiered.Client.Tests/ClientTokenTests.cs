using Grpc.Core;
using static Tiered.Client.Tests.ClientFactory;

namespace Tiered.Client.Tests;

/// <summary>
/// The client's token (Token, TokenFile, TIERED_TOKEN) arrives at the broker as <c>authorization: Bearer</c> metadata
/// on every kind of call. The broker here only records it: checking it is the broker's business.
/// </summary>
/// <remarks>One class, so its tests run one after another: one of them sets TIERED_TOKEN, which the others must not see.</remarks>
public sealed class ClientTokenTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tiered-token-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TieredClient Client(FakeBroker broker, string? token = null, string? tokenFile = null) => new(new TieredClientOptions
    {
        ServiceUrl = broker.Url,
        OperationTimeout = TimeSpan.FromSeconds(10),
        ReconnectInitialBackoff = TimeSpan.FromMilliseconds(20),
        ReconnectMaxBackoff = TimeSpan.FromMilliseconds(200),
        Token = token,
        TokenFile = tokenFile,
    });

    [Fact]
    public async Task The_token_is_sent_on_lookup_produce_consume_seek_and_get_last_message_id()
    {
        await using var broker = await FakeBroker.StartAsync();
        await using var client = Client(broker, token: "token-1");

        await using (var producer = await client.CreateProducerAsync(new ProducerOptions("orders")))
            await producer.SendAsync(Text("m0")).Within("the receipt");
        await using (var consumer = await client.SubscribeAsync(new ConsumerOptions("orders", "s") { InitialPosition = SubscriptionInitialPosition.Earliest }))
            await consumer.ReceiveAsync().Within("the message");
        var last = await client.GetLastMessageIdAsync("orders").Within("the last message id");
        await client.SeekAsync("orders", "s", last!.Value).Within("the seek");

        foreach (var method in new[] { "Lookup", "Produce", "Consume", "GetLastMessageId", "Seek" })
        {
            var sent = broker.AuthorizationsOf(method);
            Assert.NotEmpty(sent);
            Assert.All(sent, a => Assert.Equal("Bearer token-1", a));
        }
    }

    [Fact]
    public async Task Without_a_token_no_authorization_is_sent()
    {
        Assert.True(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TIERED_TOKEN")), "TIERED_TOKEN is set in the test's environment");
        await using var broker = await FakeBroker.StartAsync();
        await using var client = Client(broker);

        await client.LookupAsync("orders").Within("the lookup");

        Assert.Equal([null], broker.AuthorizationsOf("Lookup"));
    }

    [Fact]
    public async Task A_rewritten_token_file_is_used_from_the_next_stream_on()
    {
        var file = Path.Combine(_dir, "token");
        await File.WriteAllTextAsync(file, "old-token\n");
        await using var broker = await FakeBroker.StartAsync();
        await using var client = Client(broker, tokenFile: file);
        await using var producer = await client.CreateProducerAsync(new ProducerOptions("rotated") { BatchingEnabled = false });
        await producer.SendAsync(Text("m0")).Within("the first receipt");

        await File.WriteAllTextAsync(file, "new-token");
        broker.FailProduceStreamAtBatch = 2; // the next send ends the stream; the producer reconnects
        await producer.SendAsync(Text("m1")).Within("the receipt after the reconnection");

        Assert.Equal(2, broker.ProduceStreams);
        Assert.Equal(["Bearer old-token", "Bearer new-token"], broker.AuthorizationsOf("Produce"));
        Assert.Equal("Bearer new-token", broker.AuthorizationsOf("Lookup")[^1]);
    }

    [Fact]
    public async Task A_missing_token_file_fails_the_producer_naming_the_file()
    {
        var file = Path.Combine(_dir, "missing-token");
        await using var broker = await FakeBroker.StartAsync();
        await using var client = Client(broker, tokenFile: file);

        var e = await Assert.ThrowsAsync<TieredClientException>(() => client.CreateProducerAsync(new ProducerOptions("orders"))).Within("the refusal");

        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Empty(broker.Calls);
    }

    [Fact]
    public async Task TIERED_TOKEN_is_the_token_when_no_option_gives_one()
    {
        await using var broker = await FakeBroker.StartAsync();
        TieredClient client;
        Environment.SetEnvironmentVariable("TIERED_TOKEN", "from-environment");
        try
        {
            client = Client(broker);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TIERED_TOKEN", null);
        }
        await using (client)
        {
            await using var producer = await client.CreateProducerAsync(new ProducerOptions("env"));
            await producer.SendAsync(Text("m0")).Within("the receipt");
        }

        Assert.Equal(["Bearer from-environment"], broker.AuthorizationsOf("Produce"));
    }

    [Fact]
    public void Token_and_TokenFile_together_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new TieredClientOptions { Token = "a", TokenFile = "/tmp/b" }.Validate());

        Assert.Contains("not both", e.Message, StringComparison.Ordinal);
    }
}
