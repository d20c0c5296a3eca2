using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Tiered.Client;

namespace Tiered.Tests.Cluster;

/// <summary>
/// A producer and a consumer (exclusive, from the earliest message, acknowledging each message) on
/// each of several topics, through the .NET client and a multi-host service URL, counting what
/// the durability promise is about: messages acknowledged to the producer, read back, lost (acknowledged
/// but never read), stored twice (one payload under two message ids: a resend after a lost receipt),
/// redelivered (same id again, allowed before the ack is confirmed) and redelivered after the
/// consumer's acknowledgement was confirmed (never allowed).
/// </summary>
internal sealed class ClusterLoad : IAsyncDisposable
{
    private readonly TieredClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _running = [];

    private ClusterLoad(TieredClient client, IReadOnlyList<string> topics)
        => (_client, Topics) = (client, [.. topics.Select(t => new TopicLoad(t))]);

    public IReadOnlyList<TopicLoad> Topics { get; }

    public static async Task<ClusterLoad> StartAsync(string serviceUrl, IReadOnlyList<string> topics)
    {
        var client = new TieredClient(new TieredClientOptions
        {
            ServiceUrl = serviceUrl,
            ReconnectInitialBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(500),
        });
        var load = new ClusterLoad(client, topics);
        foreach (var topic in load.Topics)
        {
            var consumer = await client.SubscribeAsync(new ConsumerOptions(topic.Name, "check") { InitialPosition = SubscriptionInitialPosition.Earliest });
            var producer = await client.CreateProducerAsync(new ProducerOptions(topic.Name) { BatchingEnabled = false, MaxPendingMessages = 20 });
            load._running.Add(Task.Run(() => topic.ProduceAsync(producer, load._stop.Token)));
            load._running.Add(Task.Run(() => topic.ConsumeAsync(consumer, load._stop.Token)));
        }
        return load;
    }

    /// <summary>Waits until every topic got <paramref name="receipts"/> more producer receipts; fails after <paramref name="within"/>.</summary>
    public async Task WaitForReceiptsAsync(int receipts, TimeSpan within, string when)
    {
        var targets = Topics.Select(t => t.Acknowledged.Count + receipts).ToArray();
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        while (Topics.Where((t, i) => t.Acknowledged.Count < targets[i]).ToList() is { Count: > 0 } waiting)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"{when}: {string.Join(", ", waiting.Select(t => t.Name))} got no receipt for {within.TotalSeconds:0} s (last error: {waiting[0].LastError ?? "none"}).");
            await Task.Delay(20);
        }
    }

    /// <summary>Stops producing, then waits until the consumers read every acknowledged message (or <paramref name="within"/> passed).</summary>
    public async Task StopAndDrainAsync(TimeSpan within)
    {
        foreach (var topic in Topics)
            topic.StopProducing();
        var producing = _running.Where((_, i) => i % 2 == 0).ToArray();
        await Task.WhenAll(producing).WaitAsync(within);
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        while (Topics.Any(t => t.Lost > 0) && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(50);
        // A short quiet period shows whether anything more (a redelivery) is coming.
        await Task.Delay(500);
        await _stop.CancelAsync();
        await Task.WhenAll(_running).WaitAsync(within);
    }

    public string Report() => string.Join("\n", Topics.Select(t => t.Report()));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_running).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _client.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>The counts of one topic.</summary>
internal sealed class TopicLoad(string name)
{
    private readonly CancellationTokenSource _stopProducing = new();
    private readonly ConcurrentDictionary<int, MessageId> _received = new();
    private readonly ConcurrentDictionary<int, byte> _ackConfirmed = new();
    private int _storedTwice;
    private int _redelivered;
    private int _redeliveredAfterAck;

    public string Name { get; } = name;

    /// <summary>Sequence numbers the producer got a receipt for, with the time of the receipt (Stopwatch ticks).</summary>
    public ConcurrentDictionary<int, long> Acknowledged { get; } = new();

    public string? LastError { get; private set; }

    public int SendErrors { get; private set; }

    public int Received => _received.Count;

    public int StoredTwice => _storedTwice;

    public int Redelivered => _redelivered;

    public int RedeliveredAfterAck => _redeliveredAfterAck;

    public int Lost => Acknowledged.Keys.Count(k => !_received.ContainsKey(k));

    /// <summary>The first receipt at or after <paramref name="timestamp"/> (Stopwatch ticks); null when none yet.</summary>
    public long? FirstReceiptAfter(long timestamp)
    {
        var after = Acknowledged.Values.Where(t => t >= timestamp).ToList();
        return after.Count == 0 ? null : after.Min();
    }

    public void StopProducing() => _stopProducing.Cancel();

    public async Task ProduceAsync(Producer producer, CancellationToken stop)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, _stopProducing.Token);
        var inFlight = new List<(int Sequence, Task<MessageId> Receipt)>();
        var next = 0;
        try
        {
            while (!either.IsCancellationRequested)
            {
                while (inFlight.Count < 10)
                {
                    var sequence = next++;
                    inFlight.Add((sequence, producer.SendAsync(Encoding.UTF8.GetBytes(sequence.ToString(System.Globalization.CultureInfo.InvariantCulture))).AsTask()));
                }
                var done = await Task.WhenAny(inFlight.Select(f => f.Receipt));
                var index = inFlight.FindIndex(f => f.Receipt == done);
                var (seq, receipt) = inFlight[index];
                inFlight.RemoveAt(index);
                try
                {
                    await receipt;
                    Acknowledged[seq] = Stopwatch.GetTimestamp();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The client gave up on it (not acknowledged): it counts as never sent.
                    SendErrors++;
                    LastError = e.Message;
                }
            }
        }
        finally
        {
            foreach (var (seq, receipt) in inFlight)
            {
                try
                {
                    await receipt.WaitAsync(TimeSpan.FromSeconds(30));
                    Acknowledged[seq] = Stopwatch.GetTimestamp();
                }
                catch (Exception e)
                {
                    LastError = e.Message;
                }
            }
            await producer.DisposeAsync();
        }
    }

    public async Task ConsumeAsync(Consumer consumer, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var message = await consumer.ReceiveAsync(stop);
                var sequence = int.Parse(Encoding.UTF8.GetString(message.Payload.Span), System.Globalization.CultureInfo.InvariantCulture);
                if (_ackConfirmed.ContainsKey(sequence))
                    Interlocked.Increment(ref _redeliveredAfterAck);
                if (!_received.TryAdd(sequence, message.Id))
                    Interlocked.Increment(ref _received[sequence] == message.Id ? ref _redelivered : ref _storedTwice);
                try
                {
                    await consumer.AcknowledgeAsync(message, stop);
                    _ackConfirmed.TryAdd(sequence, 0);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Not confirmed: it may come again, which is allowed.
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            await consumer.DisposeAsync();
        }
    }

    public string Report()
        => $"{Name}: {Acknowledged.Count} acknowledged, {SendErrors} send failures, {Received} read back, {Lost} lost, "
            + $"{StoredTwice} stored twice, {Redelivered} redelivered before their ack was confirmed, {RedeliveredAfterAck} redelivered after it";
}
