using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Tiered.Client;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Tiered.Tests.Cluster;

/// <summary>Delayed delivery through a kill -9 of `tiered standalone`: the held messages live only in the log.</summary>
public sealed class DelayedDeliveryKillTests(ITestOutputHelper output)
{
    private const int Messages = 10_000;
    private const int SpreadMs = 20_000;

    /// <summary>The clock's granularity: the broker compares whole milliseconds.</summary>
    private const int ToleranceMs = 5;

    [Fact]
    public async Task Ten_thousand_messages_delayed_over_20_s_with_a_kill_9_in_the_middle_come_none_early_none_lost_none_acknowledged_twice()
    {
        using var standalone = new Standalone();
        await standalone.StartAsync();
        await using var client = new TieredClient(new TieredClientOptions { ServiceUrl = standalone.Url });
        var topic = $"persistent://public/default/delayed-{Guid.NewGuid():N}";
        await using var consumer = await client.SubscribeAsync(new ConsumerOptions(topic, "s")
        {
            Type = SubscriptionType.Shared, InitialPosition = SubscriptionInitialPosition.Earliest,
        });
        await using (var producer = await client.CreateProducerAsync(new ProducerOptions(topic)))
        {
            var random = new Random(17);
            var start = DateTimeOffset.UtcNow;
            var sends = new Task[Messages];
            for (var i = 0; i < Messages; i++)
            {
                var at = start.AddMilliseconds(random.Next(0, SpreadMs));
                sends[i] = producer.SendDelayedAsync(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{i}@{at.ToUnixTimeMilliseconds()}")), at).AsTask();
            }
            await Task.WhenAll(sends);
        }

        var received = new ConcurrentDictionary<int, int>();
        var acknowledged = new ConcurrentDictionary<int, bool>();
        var early = new ConcurrentQueue<string>();
        var acknowledgedTwice = 0;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var receiving = Task.Run(async () =>
        {
            while (received.Count < Messages)
            {
                var message = await consumer.ReceiveAsync(deadline.Token);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var text = Encoding.UTF8.GetString(message.Payload.Span);
                var at = text.IndexOf('@', StringComparison.Ordinal);
                var index = int.Parse(text.AsSpan(0, at), CultureInfo.InvariantCulture);
                var due = long.Parse(text.AsSpan(at + 1), CultureInfo.InvariantCulture);
                if (now < due - ToleranceMs)
                    early.Enqueue($"{index} due at {due} came at {now}");
                if (acknowledged.ContainsKey(index))
                    Interlocked.Increment(ref acknowledgedTwice);
                received.AddOrUpdate(index, 1, (_, n) => n + 1);
                // Acknowledged at once; only a stored acknowledgement counts (one lost to the kill may bring the message again).
                _ = consumer.AcknowledgeAsync(message).ContinueWith(
                    t => acknowledged.TryAdd(index, true), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            }
        });

        // Kill once a quarter has come (about 5 s in), while three quarters are held only by the log.
        while (received.Count < Messages / 4 && !receiving.IsCompleted)
            await Task.Delay(10);
        standalone.Kill();
        output.WriteLine($"killed with {received.Count} received");
        await standalone.StartAsync();
        output.WriteLine($"restarted with {received.Count} received");

        await receiving;
        var duplicates = received.Values.Sum(n => n - 1);
        output.WriteLine($"{received.Count} received, {duplicates} delivered again (delivered but not acknowledged at the kill), {acknowledgedTwice} acknowledged twice");
        Assert.Empty(early);
        Assert.Equal(Messages, received.Count);
        Assert.Equal(0, acknowledgedTwice);
    }
}
