using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using HdrHistogram;
using Tiered.Client;

namespace Tiered.Bench;

/// <summary>What one phase of the replication benchmark sends: 1 KB batched messages from one producer in cluster A.</summary>
/// <param name="RatePerSecond">Paced at this rate; null sends as fast as the window of <paramref name="MaxPending"/> allows.</param>
public sealed record ReplicationSetup(int MessageSize, int MaxPending, double? RatePerSecond)
{
    public string Name => PublishSetup.SizeName(MessageSize) + ", batched, 1 producer"
        + (RatePerSecond is { } rate ? FormattableString.Invariant($", paced at {rate:N0} msg/s") : ", as fast as it goes");
}

/// <summary>A's replicator to B as A's topic stats showed it (<c>replication.{remote}</c>).</summary>
/// <param name="At">Stopwatch timestamp of the answer.</param>
public sealed record ReplicatorSample(long At, double MsgRateOut, long MsgOutCounter, long Backlog, bool Connected, double DelaySeconds, string? LastError);

/// <summary>One measured phase of the replication benchmark.</summary>
/// <param name="Window">The measured window (after the warm-up), between the two snapshots.</param>
/// <param name="Published">Messages A receipted in the window.</param>
/// <param name="Arrived">Messages B's consumer received in the window (whenever they were sent).</param>
/// <param name="PublishMicros">SendAsync call → A's receipt, messages sent in the window.</param>
/// <param name="LagMicros">SendAsync call in A → B's consumer application gets it, messages sent in the window.</param>
/// <param name="LastArrivalAfterLastReceipt">B's last new message after A's last receipt (negative: before it).</param>
/// <param name="Receipted">Every message A receipted, warm-up and drain included; each must arrive in B once.</param>
/// <param name="Lost">Receipted in A, never received in B.</param>
/// <param name="Duplicates">Received in B more than once.</param>
/// <param name="Unconfirmed">Received in B without a receipt in A (a send that failed after it was stored).</param>
/// <param name="WindowStart">A's replicator stats at the start of the window; null if it was not running yet.</param>
/// <param name="WindowEnd">… and at its end.</param>
/// <param name="PeakBacklog">Highest replicationBacklog (entries) seen in the window, sampled every second.</param>
/// <param name="PeakDelaySeconds">Highest replicationDelayInSeconds seen in the window.</param>
/// <param name="Drained">A's replicator backlog reached 0 after the producer stopped.</param>
/// <param name="Cpu">The window's CPU: the standalones A then B.</param>
public sealed record ReplicationPhaseResult(
    ReplicationSetup Setup,
    TimeSpan Window,
    long Published,
    long Arrived,
    HistogramBase PublishMicros,
    HistogramBase LagMicros,
    TimeSpan? LastArrivalAfterLastReceipt,
    long Receipted,
    long Lost,
    long Duplicates,
    long Unconfirmed,
    ReplicatorSample? WindowStart,
    ReplicatorSample? WindowEnd,
    long PeakBacklog,
    double PeakDelaySeconds,
    bool Drained,
    long Errors,
    string? FirstError,
    CpuUsage Cpu)
{
    public double PublishedPerSecond => Published / Window.TotalSeconds;

    public double PublishedMBPerSecond => Published * (double)Setup.MessageSize / 1e6 / Window.TotalSeconds;

    public double ArrivedPerSecond => Arrived / Window.TotalSeconds;

    public double ArrivedMBPerSecond => Arrived * (double)Setup.MessageSize / 1e6 / Window.TotalSeconds;

    /// <summary>Messages A's replicator had acknowledged by B in the window, per second (msgOutCounter's difference).</summary>
    public double ReplicatedPerSecond => WindowStart is { } start && WindowEnd is { } end && end.At > start.At
        ? (end.MsgOutCounter - start.MsgOutCounter) / Stopwatch.GetElapsedTime(start.At, end.At).TotalSeconds
        : double.NaN;
}

/// <summary>
/// One producer in cluster A publishing to a replicated topic while one consumer in cluster B (Exclusive, from the
/// earliest message, acknowledging in lists of 100) receives what A's replicator forwards. The producer runs for the
/// warm-up and then the measured window without a pause, so the window sees the replicator's steady state (its stream
/// to B is opened per topic, when the topic loads). Each payload carries the Stopwatch timestamp of its SendAsync call
/// (both clients are in this process, so one clock) and its index, so B's consumer measures publish → delivery and
/// every receipted message can be checked to arrive once. Payload buffers are a reused ring, as in
/// <see cref="PublishWorkload"/>, and the bookkeeping per message is a few interlocked operations.
/// </summary>
public sealed class ReplicationWorkload
{
    private const int AckBatch = 100;
    private const string Subscription = "bench";
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long the drain waits for B while nothing new arrives there.</summary>
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(30);

    private readonly TieredClient _clientA;
    private readonly TieredClient _clientB;
    private readonly HttpClient _adminA;
    private readonly string _statsPath;
    private readonly string _remote;
    private readonly string _topic;
    private readonly ReplicationSetup _setup;
    private readonly int _receiverQueue;
    private readonly LatencyRecorder _published = new();
    private readonly LatencyRecorder _lag = new();
    private readonly MessageSet _receipted = new();
    private readonly MessageSet _received = new();
    private long _receiptCount;
    private long _arrivedCount;
    private long _distinctCount;
    private long _duplicates;
    private long _lastReceiptAt;
    private long _lastNewArrivalAt;
    private long _ackErrors;
    private long _windowStart;
    private long _windowEnd;

    /// <param name="adminA">A's admin API, for its topic stats.</param>
    /// <param name="statsPath">A's stats of the topic (/admin/v2/persistent/T/NS/TOPIC/stats).</param>
    /// <param name="remote">B's cluster name: the key of A's replicator in the stats.</param>
    public ReplicationWorkload(TieredClient clientA, TieredClient clientB, HttpClient adminA, string statsPath, string remote, string topic, ReplicationSetup setup, int receiverQueue) =>
        (_clientA, _clientB, _adminA, _statsPath, _remote, _topic, _setup, _receiverQueue) = (clientA, clientB, adminA, statsPath, remote, topic, setup, receiverQueue);

    /// <summary>Runs <paramref name="warmup"/> then <paramref name="duration"/>, then waits until A answered every send and B received every receipted message.</summary>
    /// <param name="serverPids">A's and B's standalone processes, whose CPU is measured over the window.</param>
    public async Task<ReplicationPhaseResult> RunAsync(TimeSpan warmup, TimeSpan duration, IReadOnlyList<int> serverPids, string label, CancellationToken cancellationToken)
    {
        // B's subscription first, from the earliest message: it must see everything A's replicator forwards.
        var consumer = await _clientB.SubscribeAsync(
            new ConsumerOptions(_topic, Subscription) { InitialPosition = SubscriptionInitialPosition.Earliest, ReceiverQueueSize = _receiverQueue }, cancellationToken);
        Producer? producer = null;
        var window = new SemaphoreSlim(_setup.MaxPending, _setup.MaxPending);
        try
        {
            producer = await _clientA.CreateProducerAsync(
                new ProducerOptions(_topic) { BatchingEnabled = true, MaxPendingMessages = _setup.MaxPending }, cancellationToken);
            using var consumerStop = new CancellationTokenSource();
            var consuming = Task.Run(() => ConsumeAsync(consumer, consumerStop.Token), CancellationToken.None);
            using var samplerStop = new CancellationTokenSource();
            var peaks = new Peaks();
            var sampling = Task.Run(() => SampleAsync(peaks, samplerStop.Token), CancellationToken.None);
            using var progressStop = new CancellationTokenSource();
            var progress = ReportProgressAsync(label, warmup + duration, progressStop.Token);

            var started = Stopwatch.GetTimestamp();
            _windowStart = started + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            _windowEnd = _windowStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var payloads = new PayloadRing(_setup.MessageSize, 2 * _setup.MaxPending);
            var sending = _setup.RatePerSecond is { } rate
                ? Task.Factory.StartNew(() => Pacing.Run(rate, started, _windowEnd, window, index => SendOne(producer, payloads, window, index), cancellationToken),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                : Task.Run(() => SendAsync(producer, payloads, window, cancellationToken), CancellationToken.None);

            await DelayUntilAsync(_windowStart, cancellationToken);
            var (startAt, publishedAtStart, arrivedAtStart) = (Stopwatch.GetTimestamp(), Interlocked.Read(ref _receiptCount), Interlocked.Read(ref _arrivedCount));
            var cpu = CpuMeter.Start(serverPids);
            var statsAtStart = await SampleOnceAsync(cancellationToken);
            peaks.Measuring = true;
            await DelayUntilAsync(_windowEnd, cancellationToken);
            var (endAt, publishedAtEnd, arrivedAtEnd) = (Stopwatch.GetTimestamp(), Interlocked.Read(ref _receiptCount), Interlocked.Read(ref _arrivedCount));
            var usage = cpu.Stop();
            peaks.Measuring = false;
            var statsAtEnd = await SampleOnceAsync(cancellationToken);
            await sending;
            await progressStop.CancelAsync();
            await progress;

            await DrainSendsAsync(window);
            await WaitForArrivalsAsync(label, cancellationToken);
            var drained = await WaitForReplicatorBacklogAsync(cancellationToken);
            await consumerStop.CancelAsync();
            await consuming;
            await samplerStop.CancelAsync();
            await sampling;

            var lastReceipt = Interlocked.Read(ref _lastReceiptAt);
            var lastArrival = Interlocked.Read(ref _lastNewArrivalAt);
            return new ReplicationPhaseResult(
                _setup,
                Stopwatch.GetElapsedTime(startAt, endAt),
                publishedAtEnd - publishedAtStart,
                arrivedAtEnd - arrivedAtStart,
                _published.TakeHistogram(),
                _lag.TakeHistogram(),
                lastReceipt > 0 && lastArrival > 0 ? Stopwatch.GetElapsedTime(lastReceipt, lastArrival) : null,
                Interlocked.Read(ref _receiptCount),
                MessageSet.CountMissing(_receipted, _received),
                Interlocked.Read(ref _duplicates),
                MessageSet.CountMissing(_received, _receipted),
                statsAtStart,
                statsAtEnd,
                peaks.Backlog,
                peaks.DelaySeconds,
                drained,
                _published.Errors + _lag.Errors + Interlocked.Read(ref _ackErrors),
                _published.FirstError ?? _lag.FirstError,
                usage);
        }
        finally
        {
            if (producer is not null)
                await producer.DisposeAsync();
            window.Dispose();
            await consumer.DisposeAsync();
        }
    }

    private static async Task DelayUntilAsync(long timestamp, CancellationToken cancellationToken)
    {
        var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        if (remaining > TimeSpan.Zero)
            await Task.Delay(remaining, cancellationToken);
    }

    /// <summary>As fast as the window allows, until the end of the measured window.</summary>
    private async Task SendAsync(Producer producer, PayloadRing payloads, SemaphoreSlim window, CancellationToken cancellationToken)
    {
        long index = 0;
        while (Stopwatch.GetTimestamp() < _windowEnd && !cancellationToken.IsCancellationRequested)
        {
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            SendOne(producer, payloads, window, index++);
        }
    }

    private void SendOne(Producer producer, PayloadRing payloads, SemaphoreSlim window, long index)
    {
        var sentAt = Stopwatch.GetTimestamp();
        _ = TrackAsync(producer.SendAsync(payloads.Next(sentAt, index)), sentAt, index, window);
    }

    private async Task TrackAsync(ValueTask<MessageId> send, long sentAt, long index, SemaphoreSlim window)
    {
        try
        {
            await send.ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            _receipted.Add(index);
            Interlocked.Increment(ref _receiptCount);
            RaiseTo(ref _lastReceiptAt, now);
            if (sentAt >= _windowStart && sentAt < _windowEnd)
                _published.RecordLatencyOnly((now - sentAt) * 1_000_000 / Stopwatch.Frequency);
        }
        catch (Exception e) when (e is TieredClientException or ObjectDisposedException)
        {
            _published.Error(e);
        }
        finally
        {
            window.Release();
        }
    }

    private static void RaiseTo(ref long location, long value)
    {
        var current = Interlocked.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
                return;
            current = seen;
        }
    }

    /// <summary>Waits (with a deadline) until the whole window is free again: A answered every send.</summary>
    private async Task DrainSendsAsync(SemaphoreSlim window)
    {
        using var deadline = new CancellationTokenSource(DrainTimeout);
        try
        {
            for (var i = 0; i < _setup.MaxPending; i++)
                await window.WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Sends to {_topic} in cluster A were still unanswered {DrainTimeout.TotalSeconds:F0} s after the producer stopped.");
        }
    }

    /// <summary>
    /// Waits until B received as many distinct messages as A receipted, for as long as B keeps receiving: it gives up
    /// only when nothing new arrived for <see cref="StallTimeout"/> (what is missing is then reported as lost).
    /// </summary>
    private async Task WaitForArrivalsAsync(string label, CancellationToken cancellationToken)
    {
        var target = Interlocked.Read(ref _receiptCount);
        var (lastCount, lastProgress) = (Interlocked.Read(ref _distinctCount), Stopwatch.GetTimestamp());
        while (Interlocked.Read(ref _distinctCount) < target)
        {
            await Task.Delay(50, cancellationToken);
            var count = Interlocked.Read(ref _distinctCount);
            if (count != lastCount)
                (lastCount, lastProgress) = (count, Stopwatch.GetTimestamp());
            else if (Stopwatch.GetElapsedTime(lastProgress) > StallTimeout)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {label}: B has received {count:N0} of {target:N0} receipted messages and nothing more for {StallTimeout.TotalSeconds:F0} s; counting the rest as lost"));
                return;
            }
        }
    }

    /// <summary>Waits (30 s at most) until A's replicator has nothing left for B; false if it still had.</summary>
    private async Task<bool> WaitForReplicatorBacklogAsync(CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (await SampleOnceAsync(cancellationToken) is { Backlog: 0 })
                return true;
            await Task.Delay(100, cancellationToken);
        }
        return false;
    }

    private async Task ConsumeAsync(Consumer consumer, CancellationToken stop)
    {
        var toAck = new List<ReceivedMessage>(AckBatch);
        var acks = new List<Task>();
        try
        {
            while (true)
            {
                var message = await consumer.ReceiveAsync(stop).ConfigureAwait(false);
                var now = Stopwatch.GetTimestamp();
                var payload = message.Payload.Span;
                var sentAt = BinaryPrimitives.ReadInt64LittleEndian(payload);
                var index = BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
                Interlocked.Increment(ref _arrivedCount);
                if (_received.Add(index))
                {
                    Interlocked.Increment(ref _distinctCount);
                    Interlocked.Exchange(ref _lastNewArrivalAt, now);
                    if (sentAt >= _windowStart && sentAt < _windowEnd)
                        _lag.RecordLatencyOnly((now - sentAt) * 1_000_000 / Stopwatch.Frequency);
                }
                else
                {
                    Interlocked.Increment(ref _duplicates);
                }
                toAck.Add(message);
                if (toAck.Count == AckBatch)
                {
                    acks.Add(consumer.AcknowledgeAsync(toAck, CancellationToken.None));
                    toAck = new List<ReceivedMessage>(AckBatch);
                    acks.RemoveAll(static t => t.IsCompletedSuccessfully);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (TieredClientException e)
        {
            _lag.Error(e);
        }
        Interlocked.Add(ref _ackErrors, await ConsumerAcks.FinishAsync(consumer, toAck, acks).ConfigureAwait(false));
    }

    /// <summary>Every second until stopped: A's replicator stats, for the highest backlog and delay within the window.</summary>
    private async Task SampleAsync(Peaks peaks, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                if (await SampleOnceAsync(stop) is { } sample && peaks.Measuring)
                {
                    peaks.Backlog = Math.Max(peaks.Backlog, sample.Backlog);
                    peaks.DelaySeconds = Math.Max(peaks.DelaySeconds, sample.DelaySeconds);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>A's stats of the topic, <c>replication.{remote}</c>; null while A has no replicator for it (or the request failed).</summary>
    private async Task<ReplicatorSample?> SampleOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var stats = await _adminA.GetFromJsonAsync<JsonDocument>(_statsPath, cancellationToken);
            if (stats is null || !stats.RootElement.TryGetProperty("replication", out var replication) || !replication.TryGetProperty(_remote, out var r))
                return null;
            return new ReplicatorSample(
                Stopwatch.GetTimestamp(),
                r.GetProperty("msgRateOut").GetDouble(),
                r.GetProperty("msgOutCounter").GetInt64(),
                r.GetProperty("replicationBacklog").GetInt64(),
                r.GetProperty("connected").GetBoolean(),
                r.GetProperty("replicationDelayInSeconds").GetDouble(),
                r.TryGetProperty("lastError", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>A line on stderr every second: what A receipted and B received in the last second.</summary>
    private async Task ReportProgressAsync(string label, TimeSpan total, CancellationToken stop)
    {
        var overwrite = !Console.IsErrorRedirected;
        var started = Stopwatch.GetTimestamp();
        var (published, arrived) = (0L, 0L);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var (p, a) = (Interlocked.Read(ref _receiptCount), Interlocked.Read(ref _arrivedCount));
                var phase = Stopwatch.GetTimestamp() < _windowStart ? "warm-up" : "measuring";
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"  [{label}] {Stopwatch.GetElapsedTime(started).TotalSeconds,4:F0}/{total.TotalSeconds:F0} s {phase}  A receipted {p - published,8:N0}/s  B received {a - arrived,8:N0}/s  (B behind by {p - a:N0})");
                Console.Error.Write(overwrite ? $"\r{line}   " : line + Environment.NewLine);
                (published, arrived) = (p, a);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        if (overwrite)
            Console.Error.WriteLine();
    }

    /// <summary>The highest replicator backlog and delay the sampler saw while <see cref="Measuring"/>.</summary>
    private sealed class Peaks
    {
        public volatile bool Measuring;
        public long Backlog;
        public double DelaySeconds;
    }

}

/// <summary>
/// A set of message indices (0, 1, 2, …) as a bitmap grown in chunks of 2^20, so that a run of millions of messages
/// costs a bit each and an insert is one interlocked OR; any thread may add.
/// </summary>
public sealed class MessageSet
{
    private const int ChunkBits = 1 << 20;
    private readonly Lock _grow = new();
    private long[]?[] _chunks = new long[]?[16];

    /// <summary>Adds <paramref name="index"/>; false if it was in the set already.</summary>
    public bool Add(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var chunk = Chunk(index / ChunkBits);
        var bit = index % ChunkBits;
        var mask = 1L << (int)(bit & 63);
        return (Interlocked.Or(ref chunk[bit >> 6], mask) & mask) == 0;
    }

    /// <summary>How many indices of <paramref name="expected"/> are not in <paramref name="actual"/>.</summary>
    public static long CountMissing(MessageSet expected, MessageSet actual)
    {
        long missing = 0;
        var (chunks, others) = (Volatile.Read(ref expected._chunks), Volatile.Read(ref actual._chunks));
        for (var c = 0; c < chunks.Length; c++)
        {
            if (chunks[c] is not { } chunk)
                continue;
            var other = c < others.Length ? others[c] : null;
            for (var w = 0; w < chunk.Length; w++)
                missing += long.PopCount(Volatile.Read(ref chunk[w]) & ~(other is null ? 0 : Volatile.Read(ref other[w])));
        }
        return missing;
    }

    private long[] Chunk(long number)
    {
        var chunks = Volatile.Read(ref _chunks);
        if (number < chunks.Length && chunks[number] is { } existing)
            return existing;
        lock (_grow)
        {
            chunks = _chunks;
            if (number >= chunks.Length)
            {
                var grown = new long[]?[Math.Max(chunks.Length * 2, number + 1)];
                Array.Copy(chunks, grown, chunks.Length);
                chunks = grown;
            }
            var chunk = chunks[number] ??= new long[ChunkBits / 64];
            Volatile.Write(ref _chunks, chunks);
            return chunk;
        }
    }
}
