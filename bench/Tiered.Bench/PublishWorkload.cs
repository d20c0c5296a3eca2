using System.Buffers.Binary;
using System.Diagnostics;
using Tiered.Client;

namespace Tiered.Bench;

/// <summary>One publish workload: how many producers, what they send, and how fast.</summary>
/// <param name="Batching">Client batching ("natural": a batch goes out when the previous one is receipted).</param>
/// <param name="MaxPending">Messages each producer keeps sent and not yet receipted (also its MaxPendingMessages).</param>
/// <param name="RatePerSecond">Paced at this rate over all producers; null sends as fast as the window allows.</param>
public sealed record PublishSetup(int Producers, int MessageSize, bool Batching, int MaxPending, double? RatePerSecond)
{
    public string Name => FormattableString.Invariant(
        $"{SizeName(MessageSize)}, {(Batching ? "batched" : "unbatched")}, {Producers} producer{(Producers == 1 ? "" : "s")}")
        + (RatePerSecond is { } rate ? FormattableString.Invariant($", paced at {rate:N0} msg/s") : "");

    public static string SizeName(int bytes) => bytes == 1024 ? "1 KB" : FormattableString.Invariant($"{bytes} B");
}

/// <summary>
/// Producers publishing to one topic for a fixed time while one consumer (Exclusive subscription,
/// created before the first send) receives and acknowledges, as <c>tiered perf produce</c> and
/// <c>tiered perf consume</c> do: each producer keeps at most MaxPending sends outstanding;
/// publish latency runs from the <c>SendAsync</c> call to its receipt. The consumer acknowledges
/// in lists of 100 and measures two end-to-end latencies: from the message's publish_time (set by
/// the client when it seals the batch, in whole milliseconds) to receipt by the application, and
/// from the <c>SendAsync</c> call (a timestamp the producer writes into the first 8 payload bytes) to receipt.
/// </summary>
public sealed class PublishWorkload
{
    private const int AckBatch = 100;
    private const string Subscription = "bench";
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(60);
    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    private readonly TieredClient _client;
    private readonly string _topic;
    private readonly PublishSetup _setup;
    private readonly int _receiverQueue;
    private readonly LatencyRecorder _published = new();
    private readonly LatencyRecorder _publishTimeToReceive = new();
    private readonly LatencyRecorder _sendToReceive = new();
    private long _entries;
    private long _target = long.MaxValue;
    private long _ackErrors;

    public PublishWorkload(TieredClient client, string topic, PublishSetup setup, int receiverQueue) =>
        (_client, _topic, _setup, _receiverQueue) = (client, topic, setup, receiverQueue);

    /// <summary>Messages receipted so far (for progress lines).</summary>
    public long Published => _published.Messages;

    /// <summary>Runs the workload for <paramref name="duration"/>, then waits until every message sent was receipted and received.</summary>
    public async Task<PublishPhaseResult> RunAsync(TimeSpan duration, int serverPid, string label, CancellationToken cancellationToken)
    {
        var consumer = await _client.SubscribeAsync(new ConsumerOptions(_topic, Subscription) { InitialPosition = SubscriptionInitialPosition.Earliest, ReceiverQueueSize = _receiverQueue }, cancellationToken);
        var producers = new Producer[_setup.Producers];
        var windows = new SemaphoreSlim[_setup.Producers];
        try
        {
            for (var i = 0; i < producers.Length; i++)
            {
                producers[i] = await _client.CreateProducerAsync(
                    new ProducerOptions(_topic) { BatchingEnabled = _setup.Batching, MaxPendingMessages = _setup.MaxPending }, cancellationToken);
                windows[i] = new SemaphoreSlim(_setup.MaxPending, _setup.MaxPending);
            }
            using var consumerStop = new CancellationTokenSource();
            var consuming = Task.Run(() => ConsumeAsync(consumer, consumerStop), CancellationToken.None);

            using var progressStop = new CancellationTokenSource();
            var progress = PhaseProgress.ReportAsync(label, duration, () => Published, "msg", progressStop.Token);
            var cpu = CpuMeter.Start([serverPid]);
            var started = Stopwatch.GetTimestamp();
            var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var loops = new Task[producers.Length];
            for (var i = 0; i < loops.Length; i++)
            {
                var (producer, window) = (producers[i], windows[i]);
                var payloads = new PayloadRing(_setup.MessageSize, 2 * _setup.MaxPending);
                loops[i] = _setup.RatePerSecond is { } rate
                    ? Task.Factory.StartNew(() => Pacing.Run(rate / producers.Length, started, stopAt, window, _ => SendOne(producer, payloads, window), cancellationToken),
                        CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                    : Task.Run(() => SendAsync(producer, payloads, window, stopAt, cancellationToken), CancellationToken.None);
            }
            await Task.WhenAll(loops);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var published = _published.Messages;
            var received = _sendToReceive.Messages;
            var entries = Interlocked.Read(ref _entries);
            var usage = cpu.Stop();
            await progressStop.CancelAsync();
            await progress;

            await DrainAsync(windows);
            Interlocked.Exchange(ref _target, _published.Messages);
            if (_sendToReceive.Messages >= _published.Messages)
                await consumerStop.CancelAsync();
            if (await Task.WhenAny(consuming, Task.Delay(DrainTimeout, CancellationToken.None)) != consuming)
            {
                await consumerStop.CancelAsync();
                throw new TimeoutException($"The consumer of {_topic} had received {_sendToReceive.Messages:N0} of {_published.Messages:N0} receipted messages {DrainTimeout.TotalSeconds:F0} s after the producers stopped.");
            }
            await consuming;
            return new PublishPhaseResult(_setup, published, elapsed, _published.TakeHistogram(),
                received, entries, _publishTimeToReceive.TakeHistogram(), _sendToReceive.TakeHistogram(),
                _published.Errors + Interlocked.Read(ref _ackErrors), _published.FirstError ?? _sendToReceive.FirstError, usage);
        }
        finally
        {
            foreach (var producer in producers)
            {
                if (producer is not null)
                    await producer.DisposeAsync();
            }
            foreach (var window in windows)
                window?.Dispose();
            await consumer.DisposeAsync();
        }
    }

    /// <summary>As fast as the window allows, until <paramref name="stopAt"/>.</summary>
    private async Task SendAsync(Producer producer, PayloadRing payloads, SemaphoreSlim window, long stopAt, CancellationToken cancellationToken)
    {
        while (Stopwatch.GetTimestamp() < stopAt && !cancellationToken.IsCancellationRequested)
        {
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            SendOne(producer, payloads, window);
        }
    }

    private void SendOne(Producer producer, PayloadRing payloads, SemaphoreSlim window)
    {
        var sentAt = Stopwatch.GetTimestamp();
        _ = TrackAsync(producer.SendAsync(payloads.Next(sentAt)), sentAt, window);
    }

    private async Task TrackAsync(ValueTask<MessageId> send, long sentAt, SemaphoreSlim window)
    {
        try
        {
            await send.ConfigureAwait(false);
            _published.Record((long)Stopwatch.GetElapsedTime(sentAt).TotalMicroseconds, _setup.MessageSize);
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

    /// <summary>Waits (with a deadline) until each producer's whole window is free again: every send was answered.</summary>
    private async Task DrainAsync(SemaphoreSlim[] windows)
    {
        using var deadline = new CancellationTokenSource(DrainTimeout);
        try
        {
            foreach (var window in windows)
            {
                for (var i = 0; i < _setup.MaxPending; i++)
                    await window.WaitAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Sends to {_topic} were still unanswered {DrainTimeout.TotalSeconds:F0} s after the producers stopped.");
        }
    }

    private async Task ConsumeAsync(Consumer consumer, CancellationTokenSource stop)
    {
        var toAck = new List<ReceivedMessage>(AckBatch);
        var acks = new List<Task>();
        try
        {
            while (true)
            {
                var message = await consumer.ReceiveAsync(stop.Token).ConfigureAwait(false);
                var now = Stopwatch.GetTimestamp();
                var nowMicros = (DateTime.UtcNow.Ticks - UnixEpochTicks) / 10;
                _publishTimeToReceive.RecordLatencyOnly(nowMicros - message.PublishTimeMs * 1000);
                var sentAt = BinaryPrimitives.ReadInt64LittleEndian(message.Payload.Span);
                _sendToReceive.Record((now - sentAt) * 1_000_000 / Stopwatch.Frequency, message.Payload.Length);
                if (message.Id.BatchIndex == 0)
                    Interlocked.Increment(ref _entries);
                toAck.Add(message);
                if (toAck.Count == AckBatch)
                {
                    acks.Add(consumer.AcknowledgeAsync(toAck, CancellationToken.None));
                    toAck = new List<ReceivedMessage>(AckBatch);
                    acks.RemoveAll(static t => t.IsCompletedSuccessfully);
                }
                if (_sendToReceive.Messages >= Volatile.Read(ref _target))
                    break;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (TieredClientException e)
        {
            _sendToReceive.Error(e);
        }
        Interlocked.Add(ref _ackErrors, await ConsumerAcks.FinishAsync(consumer, toAck, acks).ConfigureAwait(false));
    }
}
