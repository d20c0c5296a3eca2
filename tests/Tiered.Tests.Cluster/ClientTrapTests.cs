using Grpc.Core;
using Grpc.Net.Client;
using Tiered.Testing;
using Tiered.V1;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// `tiered standalone` as a child process against clients that misbehave: a Node client generated
/// from client.proto springs the traps of tests/node/traps.js, and .NET clients vanish mid-stream.
/// The broker answers each as the contract says and logs none of it as a failure.
/// </summary>
public sealed class ClientTrapTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string[] FailureLines(Standalone standalone)
        => [.. standalone.Process!.Output.Split('\n').Where(line => line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains(" crit: ", StringComparison.Ordinal))];

    [Fact]
    public async Task A_node_client_springing_every_trap_gets_the_promised_answers_on_a_connection_that_keeps_serving()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        var (exit, output, errors) = await NodeScript.RunAsync("traps.js", TimeSpan.FromSeconds(120), $"127.0.0.1:{standalone.GrpcPort}");
        Assert.True(exit == 0, $"node exited with {exit}:\n{output}{errors}");
        Assert.Equal(12, output.Split('\n').Count(line => line.Contains("\"ok\":true", StringComparison.Ordinal)));
        Assert.Empty(FailureLines(standalone));
    }

    [Fact]
    public async Task Clients_that_vanish_in_the_middle_of_their_streams_are_not_logged_as_failures()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        const string topic = "persistent://public/default/vanishing";
        const int rounds = 3;
        Subscribe Subscription(int round) => new() { Topic = topic, Subscription = $"s{round}", InitialPosition = InitialPosition.Earliest };
        for (var round = 0; round < rounds; round++)
        {
            var channel = GrpcChannel.ForAddress(standalone.Url);
            var client = new Messaging.MessagingClient(channel);
            var consumer = await RawConsumer.SubscribeAsync(client, Subscription(round), permits: 100_000);
            var producer = await RawProducer.OpenAsync(client, topic);
            var sending = producer.SendAllAsync(Enumerable.Range(0, 2000).Select(i => RawProducer.Batch([$"r{round}-{i}"])), window: 100);
            Assert.NotNull(await consumer.ReceiveAsync(Wait));
            // Gone without a goodbye: the connection closes under both streams, with sends and deliveries in flight.
            channel.Dispose();
            await Assert.ThrowsAnyAsync<Exception>(() => sending);
        }

        // The broker has let go of a vanished consumer once a new exclusive consumer may join its subscription.
        using var check = GrpcChannel.ForAddress(standalone.Url);
        var deadline = DateTime.UtcNow + Wait;
        for (var round = 0; round < rounds; round++)
        {
            while (true)
            {
                try
                {
                    await using var consumer = await RawConsumer.SubscribeAsync(new Messaging.MessagingClient(check), Subscription(round));
                    break;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(50);
                }
            }
        }
        Assert.Empty(FailureLines(standalone));
    }

    [Fact]
    public async Task The_cli_refuses_a_bad_key_hash_range_before_it_connects()
    {
        // Nothing listens on that port: the refusal comes from the command line, not from a broker.
        var (code, output) = await TieredProcess.RunAsync(TimeSpan.FromSeconds(60),
            "consume", "t", "--subscription", "s", "--type", "KeyShared", "--key-hash-range", "900-100", "--url", $"http://127.0.0.1:{TieredProcess.FreePort()}");
        Assert.NotEqual(0, code);
        Assert.Contains("--key-hash-range 900-100: give START-END with 0 ≤ START ≤ END ≤ 65535", output);
    }
}
