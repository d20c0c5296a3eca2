using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Tiered.Client;
using Tiered.Testing;
using Xunit;

namespace Tiered.Tests.Cluster;

/// <summary>
/// The move of messages to the dead-letter topic across a SIGKILL of `tiered standalone`: every message ends in the
/// dead-letter topic exactly once, and none stays on the source subscription.
/// </summary>
public sealed class DeadLetterCrashTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Messages_moved_to_the_dead_letter_topic_across_a_kill_are_never_lost_never_in_both_and_never_twice()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        var topic = $"persistent://public/default/dlq-crash-{Guid.NewGuid():N}";
        const int total = 200;
        await using var client = new TieredClient(new TieredClientOptions
        {
            ServiceUrl = standalone.Url,
            ReconnectInitialBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(500),
            OperationTimeout = TimeSpan.FromSeconds(60),
        });
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false }))
            await Task.WhenAll(Enumerable.Range(0, total).Select(i => producer.SendAsync(Encoding.UTF8.GetBytes($"m{i}")).AsTask()));

        // Each entry of the dead-letter topic by payload: a payload stored twice there shows as two ids.
        var dead = new ConcurrentDictionary<string, ConcurrentDictionary<MessageId, bool>>();
        using var stop = new CancellationTokenSource();
        await using var nacking = await client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.Shared,
            InitialPosition = SubscriptionInitialPosition.Earliest,
            NegativeAckDelay = TimeSpan.FromMilliseconds(10),
            DeadLetterPolicy = new DeadLetterPolicy { MaxRedeliverCount = 1 },
        });
        await using var check = await client.SubscribeAsync(new ConsumerOptions($"{topic}-s-DLQ", "check") { Type = SubscriptionType.Shared, InitialPosition = SubscriptionInitialPosition.Earliest });
        var nackingAll = NackAllAsync(nacking, stop.Token);
        var collecting = CollectAsync(check, dead, stop.Token);

        await Until(() => dead.Count >= total / 4, "a quarter of the messages in the dead-letter topic");
        standalone.Kill();
        Assert.True(dead.Count < total, "the kill came after every message was moved: it tests nothing");
        await standalone.StartAsync();

        await Until(() => dead.Count == total, $"all {total} messages in the dead-letter topic");
        // Settled: no more arrive (a duplicate would), and the source subscription holds nothing.
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await Task.WhenAll(nackingAll, collecting);
        Assert.Equal(total, dead.Count);
        Assert.All(dead, d => Assert.True(d.Value.Count == 1, $"{d.Key} is in the dead-letter topic {d.Value.Count} times"));
        Assert.Equal(Enumerable.Range(0, total).Select(i => $"m{i}").Order(), dead.Keys.Order());
        using var http = new HttpClient { BaseAddress = new Uri(standalone.AdminUrl) };
        var stats = await http.GetStringAsync($"/admin/v2/persistent/public/default/{topic[(topic.LastIndexOf('/') + 1)..]}/stats");
        using var json = JsonDocument.Parse(stats);
        Assert.Equal(0, json.RootElement.GetProperty("subscriptions").GetProperty("s").GetProperty("msgBacklog").GetInt64());
        // Whether the kill interrupted a move (the broker says so when it resumes one) is up to timing; shown for the record.
        log.WriteLine(standalone.Process!.Output);
    }

    private static async Task NackAllAsync(Consumer consumer, CancellationToken stop)
    {
        try
        {
            while (true)
                await consumer.NegativeAcknowledgeAsync(await consumer.ReceiveAsync(stop));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task CollectAsync(Consumer consumer, ConcurrentDictionary<string, ConcurrentDictionary<MessageId, bool>> dead, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var message = await consumer.ReceiveAsync(stop);
                dead.GetOrAdd(Encoding.UTF8.GetString(message.Payload.Span), _ => new())[message.Id] = true;
                Assert.Equal("-1:0", message.Properties["ORIGIN_MESSAGE_ID"][^4..]);
                try
                {
                    await consumer.AcknowledgeAsync(message, stop);
                }
                catch (TieredClientException)
                {
                    // Lost with the broker: delivered again, with the same id, which counts once.
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"Waited {Wait.TotalSeconds} s for {what}.");
            await Task.Delay(20);
        }
    }
}
