using System.CommandLine;
using System.Diagnostics;
using System.Text;
using Tiered.Client;
using Tiered.Testing;
using static System.FormattableString;

namespace Tiered.Bench;

/// <summary>
/// <c>tiered-bench messaging</c> (issue 17): the delivery rate of a Key_Shared subscription with 4 consumers against a
/// Shared one, on one <c>tiered standalone</c> in one run. Each measurement fills a new topic with keyed messages, then
/// times 4 consumers of a new subscription (Shared or Key_Shared, alternating, so that a drift of the machine falls
/// on both) from subscribing until every message was received and acknowledged. Two producer shapes: "mixed" (keys in
/// turn: each batch holds keys of every consumer, which Key_Shared splits) and "by key" (runs of one key, as a
/// key-based batcher sends them: a batch holds one or two keys).
/// </summary>
public static class MessagingCommand
{
    private static readonly string[] Shapes = ["mixed", "by key"];

    public static Command Create()
    {
        var messages = CommandOptions.Positive("--messages", "N", "Messages per measurement.", 500_000);
        var keys = CommandOptions.Positive("--keys", "N", "Distinct keys.", 1000);
        var consumers = CommandOptions.Positive("--consumers", "N", "Consumers of the subscription.", 4);
        var rounds = CommandOptions.Positive("--rounds", "N", "Rounds of Shared then Key_Shared per producer shape.", 2);
        var size = CommandOptions.Positive("--size", "BYTES", "Payload bytes.", 100);
        var dataDir = CommandOptions.DataDir();
        var command = new Command("messaging",
            "Key_Shared vs Shared delivery rate with several consumers on one tiered standalone (issue 17; aim: Key_Shared within 20 % of Shared).")
        {
            messages, keys, consumers, rounds, size, dataDir,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetValue(messages), parseResult.GetValue(keys), parseResult.GetValue(consumers), parseResult.GetValue(rounds),
            parseResult.GetValue(size), parseResult.GetValue(dataDir), cancellationToken));
        return command;
    }

    private sealed record Measurement(string Shape, SubscriptionType Type, int Round, int Messages, double Seconds, long Received)
    {
        public double Rate => Messages / Seconds;
    }

    private static async Task<int> RunAsync(int messages, int keys, int consumers, int rounds, int size, string? dataDir, CancellationToken cancellationToken)
    {
        using var directory = new BenchDirectory(dataDir);
        var (machine, fileSystem, disk) = BenchProbe.Run(directory.Path);
        using var standalone = new Standalone();
        Console.Error.WriteLine($"starting tiered standalone ({TieredProcess.CliPath}) in {standalone.DataDir}...");
        await standalone.StartAsync();
        var results = new List<Measurement>();
        await using (var client = new TieredClient(new TieredClientOptions { ServiceUrl = standalone.Url }))
        {
            // A warm-up of each type (not reported), so that neither side pays for the JIT or the standalone's heap growing.
            foreach (var type in (SubscriptionType[])[SubscriptionType.Shared, SubscriptionType.KeyShared])
                await MeasureAsync(client, "mixed", type, 0, Math.Min(messages, 200_000), keys, consumers, size, cancellationToken);
            foreach (var shape in Shapes)
            {
                for (var round = 1; round <= rounds; round++)
                {
                    foreach (var type in (SubscriptionType[])[SubscriptionType.Shared, SubscriptionType.KeyShared])
                        results.Add(await MeasureAsync(client, shape, type, round, messages, keys, consumers, size, cancellationToken));
                }
            }
        }
        Write(Console.Out, $"messaging --messages {messages} --keys {keys} --consumers {consumers} --rounds {rounds} --size {size}",
            machine, directory.Path, fileSystem, disk, consumers, results);
        return results.All(r => r.Received >= r.Messages) ? 0 : 2;
    }

    private static async Task<Measurement> MeasureAsync(TieredClient client, string shape, SubscriptionType type, int round, int messages, int keys, int consumerCount,
        int size, CancellationToken cancellationToken)
    {
        var topic = $"persistent://public/default/bench-messaging-{Guid.NewGuid():N}";
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var name = Invariant($"{shape}, {type}, round {round}");
        Console.Error.WriteLine($"{name}: producing {messages:N0} keyed messages...");
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            var perKey = Math.Max(1, messages / keys);
            var sends = new List<Task<MessageId>>(messages);
            for (var i = 0; i < messages; i++)
            {
                var key = shape == "mixed" ? i % keys : i / perKey % keys;
                sends.Add(producer.SendAsync(payload, Invariant($"key-{key}"), cancellationToken: cancellationToken).AsTask());
            }
            await Task.WhenAll(sends);
        }
        Console.Error.WriteLine($"{name}: {consumerCount} consumers draining...");
        long received = 0;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        done.CancelAfter(TimeSpan.FromMinutes(5));
        var clock = Stopwatch.StartNew();
        var subscribed = new List<Consumer>();
        for (var c = 0; c < consumerCount; c++)
        {
            subscribed.Add(await client.SubscribeAsync(new ConsumerOptions(topic, "bench")
            {
                Type = type, InitialPosition = SubscriptionInitialPosition.Earliest, ConsumerName = $"c{c}",
            }, cancellationToken));
        }
        var draining = subscribed.Select(consumer => Task.Run(async () =>
        {
            var toAck = new List<ReceivedMessage>(100);
            var acks = new List<Task>();
            try
            {
                while (Interlocked.Read(ref received) < messages)
                {
                    toAck.Add(await consumer.ReceiveAsync(done.Token));
                    if (Interlocked.Increment(ref received) >= messages)
                        await done.CancelAsync();
                    if (toAck.Count == 100)
                    {
                        acks.Add(consumer.AcknowledgeAsync(toAck, CancellationToken.None));
                        toAck = new List<ReceivedMessage>(100);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            await ConsumerAcks.FinishAsync(consumer, toAck, acks);
        })).ToList();
        await Task.WhenAll(draining);
        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var consumer in subscribed)
            await consumer.DisposeAsync();
        var measurement = new Measurement(shape, type, round, messages, seconds, Interlocked.Read(ref received));
        Console.Error.WriteLine(Invariant($"{name}: {measurement.Rate:N0} msg/s ({measurement.Received:N0} received in {seconds:F2} s)"));
        return measurement;
    }

    private static void Write(TextWriter output, string commandLine, MachineFacts machine, string dataDir, string fileSystem, DiskLimits disk, int consumers,
        List<Measurement> results)
    {
        ReportHeader.Write(output, commandLine, machine, dataDir, fileSystem, disk);
        output.WriteLine(Invariant($"Delivery rate: a topic filled with keyed messages, drained by {consumers} consumers (received and acknowledged in lists of 100)."));
        output.WriteLine();
        output.WriteLine("| producer shape | round | Shared msg/s | Key_Shared msg/s | Key_Shared ÷ Shared |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var group in results.GroupBy(r => (r.Shape, r.Round)))
        {
            var shared = group.First(r => r.Type == SubscriptionType.Shared);
            var keyShared = group.First(r => r.Type == SubscriptionType.KeyShared);
            output.WriteLine(Invariant($"| {group.Key.Shape} | {group.Key.Round} | {shared.Rate:N0} | {keyShared.Rate:N0} | {keyShared.Rate / shared.Rate:P0} |"));
        }
        output.WriteLine();
        foreach (var shape in results.Select(r => r.Shape).Distinct())
        {
            var shared = results.Where(r => r.Shape == shape && r.Type == SubscriptionType.Shared).Average(r => r.Rate);
            var keyShared = results.Where(r => r.Shape == shape && r.Type == SubscriptionType.KeyShared).Average(r => r.Rate);
            var ratio = keyShared / shared;
            output.WriteLine(Invariant($"- {shape}: Key_Shared {keyShared:N0} msg/s, Shared {shared:N0} msg/s (means): {ratio:P0}; aim (within 20 %): {(ratio >= 0.8 ? "met" : "not met")}."));
        }
    }
}
