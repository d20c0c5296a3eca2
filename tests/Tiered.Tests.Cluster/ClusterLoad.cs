using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Tiered.Client;
using Tiered.Testing;
using Xunit;
using Xunit.Abstractions;

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

    private ClusterLoad(TieredClient client, IReadOnlyList<string> topics, RecordingLoggerProvider log)
        => (_client, Topics, ClientLog) = (client, [.. topics.Select(t => new TopicLoad(t))], log);

    /// <summary>What the client logged (information and above).</summary>
    public RecordingLoggerProvider ClientLog { get; }

    public IReadOnlyList<TopicLoad> Topics { get; }

    /// <param name="messagesPerSecond">What each producer sends per second at most.</param>
    public static async Task<ClusterLoad> StartAsync(string serviceUrl, IReadOnlyList<string> topics, int messagesPerSecond = 150)
    {
        var log = new RecordingLoggerProvider();
        var client = new TieredClient(new TieredClientOptions
        {
            LoggerFactory = LoggerFactory.Create(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Information)),
            ServiceUrl = serviceUrl,
            // A paused broker keeps its connections open but answers nothing: its pings go unanswered, and the client moves on.
            KeepAliveInterval = TimeSpan.FromSeconds(2),
            ReconnectInitialBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectMaxBackoff = TimeSpan.FromMilliseconds(500),
        });
        var load = new ClusterLoad(client, topics, log);
        foreach (var topic in load.Topics)
            topic.MessagesPerSecond = messagesPerSecond;
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

    /// <summary>
    /// Stops, drains and checks the promise: every acknowledged message read back, none redelivered
    /// after its acknowledgement was confirmed. Prints the counts, and on a loss whether the messages
    /// are stored, the topics' stats, and the client's and brokers' logs.
    /// </summary>
    public async Task StopAndVerifyAsync(TimeSpan within, BrokerCluster cluster, ITestOutputHelper output)
    {
        await StopAndDrainAsync(within);
        output.WriteLine(Report());
        if (Topics.Any(t => t.Lost > 0))
        {
            output.WriteLine(await DiagnoseAsync());
            foreach (var topic in Topics.Where(t => t.Lost > 0))
                output.WriteLine(await cluster.TopicStatsAsync(topic.Name));
            output.WriteLine(string.Join("\n", ClientLog.Lines));
            output.WriteLine(cluster.Logs());
        }
        Assert.All(Topics, t => Assert.Equal(0, t.Lost));
        // Producer de-duplication: a batch resent after a lost receipt is not stored again.
        Assert.All(Topics, t => Assert.Equal(0, t.StoredTwice));
        Assert.All(Topics, t => Assert.Equal(0, t.RedeliveredAfterAck));
    }

    private static string Ranges(List<int> sequences)
    {
        var parts = new List<string>();
        foreach (var s in sequences.Order())
        {
            if (parts.Count > 0 && parts[^1].Split('-') is [.., var last] && int.Parse(last, System.Globalization.CultureInfo.InvariantCulture) == s - 1)
                parts[^1] = $"{parts[^1].Split('-')[0]}-{s}";
            else
                parts.Add($"{s}");
        }
        return string.Join(", ", parts.Take(20));
    }

    /// <summary>
    /// For each topic with messages acknowledged but not read back: how many of them a new reader
    /// finds stored (the consumer stalled) and how many it does not (lost from storage).
    /// </summary>
    public async Task<string> DiagnoseAsync()
    {
        var lines = new List<string>();
        foreach (var topic in Topics.Where(t => t.Lost > 0))
        {
            await using var reader = await _client.CreateReaderAsync(new ReaderOptions(topic.Name) { StartMessageId = MessageId.Earliest });
            var stored = new HashSet<int>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await reader.HasMessageAvailableAsync(timeout.Token))
            {
                var message = await reader.ReadNextAsync(timeout.Token);
                stored.Add(int.Parse(Encoding.UTF8.GetString(message.Payload.Span), System.Globalization.CultureInfo.InvariantCulture));
            }
            var missing = topic.MissingSequences();
            lines.Add($"{topic.Name}: missing sequences {Ranges(missing)}; the consumer's last message: {topic.LastReceived}");
            lines.Add($"{topic.Name}: of {missing.Count} acknowledged but not consumed, {missing.Count(stored.Contains)} are stored (the consumer did not get them), "
                + $"{missing.Count(m => !stored.Contains(m))} are not (first missing: {string.Join(", ", missing.Where(m => !stored.Contains(m)).Order().Take(5))})");
        }
        return string.Join("\n", lines);
    }

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
    private readonly ConcurrentDictionary<int, MessageId> _ackConfirmed = new();
    private int _storedTwice;
    private int _redelivered;
    private int _redeliveredAfterAck;

    /// <summary>Messages a producer has sent and not yet had a receipt for, at most.</summary>
    public const int InFlight = 10;

    /// <summary>Messages the producer sends per second at most.</summary>
    public int MessagesPerSecond { get; set; } = 150;

    public string Name { get; } = name;

    /// <summary>Sequence numbers the producer got a receipt for, with the time of the receipt (Stopwatch ticks).</summary>
    public ConcurrentDictionary<int, long> Acknowledged { get; } = new();

    public string? LastError { get; private set; }

    public int SendErrors { get; private set; }

    public int Received => _received.Count;

    /// <summary>The sequence and id of the last message the consumer received, and when.</summary>
    public string LastReceived { get; private set; } = "none";

    public int StoredTwice => _storedTwice;

    public int Redelivered => _redelivered;

    public int RedeliveredAfterAck => _redeliveredAfterAck;

    public int Lost => Acknowledged.Keys.Count(k => !_received.ContainsKey(k));

    public List<int> MissingSequences() => [.. Acknowledged.Keys.Where(k => !_received.ContainsKey(k))];

    /// <summary>
    /// When the producer had more receipts after <paramref name="timestamp"/> (Stopwatch ticks) than
    /// it had messages in flight, so that at least one came from a message sent after it; null when not yet.
    /// </summary>
    public long? ResumedAfter(long timestamp)
    {
        var after = Acknowledged.Values.Where(t => t >= timestamp).Order().ToList();
        return after.Count <= TopicLoad.InFlight ? null : after[TopicLoad.InFlight];
    }

    public void StopProducing() => _stopProducing.Cancel();

    public async Task ProduceAsync(Producer producer, CancellationToken stop)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop, _stopProducing.Token);
        var inFlight = new List<(int Sequence, Task<MessageId> Receipt)>();
        var next = 0;
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (!either.IsCancellationRequested)
            {
                // Paced (a steady load, not the most the machine can do): the tests run on 2 shared cores.
                if (next > Stopwatch.GetElapsedTime(started).TotalSeconds * MessagesPerSecond)
                    await Task.Delay(TimeSpan.FromMilliseconds(20), either.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                while (inFlight.Count < InFlight && next <= Stopwatch.GetElapsedTime(started).TotalSeconds * MessagesPerSecond)
                {
                    var sequence = next++;
                    inFlight.Add((sequence, producer.SendAsync(Encoding.UTF8.GetBytes(sequence.ToString(System.Globalization.CultureInfo.InvariantCulture))).AsTask()));
                }
                if (inFlight.Count == 0)
                    continue;
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
                LastReceived = $"{sequence} ({message.Id}) at {DateTime.UtcNow:HH:mm:ss.fff}";
                if (_ackConfirmed.TryGetValue(sequence, out var acked) && acked == message.Id)
                    Interlocked.Increment(ref _redeliveredAfterAck);
                if (!_received.TryAdd(sequence, message.Id))
                    Interlocked.Increment(ref _received[sequence] == message.Id ? ref _redelivered : ref _storedTwice);
                // Acknowledged without waiting (as applications do); counted as confirmed once its receipt came.
                _ = consumer.AcknowledgeAsync(message, stop).ContinueWith(
                    (ack, state) =>
                    {
                        if (ack.IsCompletedSuccessfully)
                            _ackConfirmed.TryAdd((int)state!, message.Id);
                    },
                    sequence, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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
