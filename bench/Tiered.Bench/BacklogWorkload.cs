using System.Diagnostics;
using Tiered.Client;

namespace Tiered.Bench;

/// <summary>The backlog phase: how long filling it took, and how fast a consumer caught up over it.</summary>
/// <param name="Messages">Messages in the backlog (all receipted before the consumer connected).</param>
/// <param name="FillElapsed">Publishing the backlog, no consumer connected.</param>
/// <param name="ConsumeElapsed">Subscribe call → the last backlog message received by the application.</param>
/// <param name="FirstMessageAfter">Subscribe call → the first message received.</param>
public sealed record BacklogResult(
    int MessageSize,
    int Producers,
    long Messages,
    TimeSpan FillElapsed,
    CpuUsage FillCpu,
    TimeSpan ConsumeElapsed,
    TimeSpan FirstMessageAfter,
    CpuUsage ConsumeCpu,
    long Errors,
    string? FirstError)
{
    public double Bytes => Messages * (double)MessageSize;

    public double FillMessagesPerSecond => Messages / FillElapsed.TotalSeconds;

    public double FillMBPerSecond => Bytes / 1e6 / FillElapsed.TotalSeconds;

    public double ConsumeMessagesPerSecond => Messages / ConsumeElapsed.TotalSeconds;

    public double ConsumeMBPerSecond => Bytes / 1e6 / ConsumeElapsed.TotalSeconds;
}

/// <summary>
/// A consumer catching up: a durable subscription is created (and its consumer closed) before anything
/// is published, so the broker keeps every message for it; then producers publish the backlog with no
/// consumer connected, as fast as their windows allow; then one consumer joins the subscription and
/// receives and acknowledges (lists of 100) until it has every message.
/// </summary>
public sealed class BacklogWorkload(TieredClient client, string topic, int messageSize, int producerCount, int maxPending, int receiverQueue)
{
    private const int AckBatch = 100;
    private const string Subscription = "backlog";

    private readonly LatencyRecorder _published = new();
    private long _claimed;
    private long _received;

    /// <summary>Messages receipted so far, then messages received (for progress lines).</summary>
    public long Published => _published.Messages;

    public long Received => Interlocked.Read(ref _received);

    public async Task<BacklogResult> RunAsync(long messages, int serverPid, TimeSpan consumeTimeout, CancellationToken cancellationToken)
    {
        await using (await client.SubscribeAsync(new ConsumerOptions(topic, Subscription) { InitialPosition = SubscriptionInitialPosition.Earliest }, cancellationToken))
        {
            // Only the durable subscription is wanted: it holds the backlog.
        }

        var payload = new byte[messageSize];
        Random.Shared.NextBytes(payload);
        var label = FormattableString.Invariant($"backlog: publishing {messages:N0} × {PublishSetup.SizeName(messageSize)}, no consumer");
        var expectedFill = TimeSpan.FromSeconds(Math.Max(1, messages / 50_000.0));
        using (var progressStop = new CancellationTokenSource())
        {
            var progress = PhaseProgress.ReportAsync(label, expectedFill, () => Published, "msg", progressStop.Token);
            var fillCpu = CpuMeter.Start([serverPid]);
            var started = Stopwatch.GetTimestamp();
            var producers = new Task[producerCount];
            for (var i = 0; i < producers.Length; i++)
                producers[i] = Task.Run(() => PublishShareAsync(payload, messages, cancellationToken), CancellationToken.None);
            await Task.WhenAll(producers);
            var fillElapsed = Stopwatch.GetElapsedTime(started);
            var fillUsage = fillCpu.Stop();
            await progressStop.CancelAsync();
            await progress;

            var published = _published.Messages;
            var consumeLabel = FormattableString.Invariant($"backlog: consuming {published:N0} messages");
            using var consumeStop = new CancellationTokenSource();
            var consumeProgress = PhaseProgress.ReportAsync(consumeLabel, expectedFill, () => Received, "msg", consumeStop.Token);
            var consumeCpu = CpuMeter.Start([serverPid]);
            var (consumeElapsed, firstAfter, ackErrors) = await ConsumeAsync(published, consumeTimeout, cancellationToken);
            var consumeUsage = consumeCpu.Stop();
            await consumeStop.CancelAsync();
            await consumeProgress;
            return new BacklogResult(messageSize, producerCount, published, fillElapsed, fillUsage, consumeElapsed, firstAfter, consumeUsage,
                _published.Errors + ackErrors, _published.FirstError);
        }
    }

    /// <summary>One producer: claims messages from the shared total until none are left, at most maxPending in flight.</summary>
    private async Task PublishShareAsync(byte[] payload, long total, CancellationToken cancellationToken)
    {
        await using var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { MaxPendingMessages = maxPending }, cancellationToken);
        using var window = new SemaphoreSlim(maxPending, maxPending);
        while (Interlocked.Increment(ref _claimed) <= total)
        {
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            var sentAt = Stopwatch.GetTimestamp();
            _ = TrackAsync(producer.SendAsync(payload, cancellationToken: CancellationToken.None), sentAt, window);
        }
        for (var i = 0; i < maxPending; i++)
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task TrackAsync(ValueTask<MessageId> send, long sentAt, SemaphoreSlim window)
    {
        try
        {
            await send.ConfigureAwait(false);
            _published.Record((long)Stopwatch.GetElapsedTime(sentAt).TotalMicroseconds, messageSize);
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

    private async Task<(TimeSpan Elapsed, TimeSpan FirstAfter, long AckErrors)> ConsumeAsync(long expected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var started = Stopwatch.GetTimestamp();
        var firstAfter = TimeSpan.Zero;
        var acks = new List<Task>();
        TimeSpan elapsed;
        await using (var consumer = await client.SubscribeAsync(new ConsumerOptions(topic, Subscription) { ReceiverQueueSize = receiverQueue }, deadline.Token))
        {
            var toAck = new List<ReceivedMessage>(AckBatch);
            try
            {
                while (Received < expected)
                {
                    var message = await consumer.ReceiveAsync(deadline.Token).ConfigureAwait(false);
                    if (Interlocked.Increment(ref _received) == 1)
                        firstAfter = Stopwatch.GetElapsedTime(started);
                    toAck.Add(message);
                    if (toAck.Count == AckBatch)
                    {
                        acks.Add(consumer.AcknowledgeAsync(toAck, CancellationToken.None));
                        toAck = new List<ReceivedMessage>(AckBatch);
                        acks.RemoveAll(static t => t.IsCompletedSuccessfully);
                    }
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The backlog consumer had received {Received:N0} of {expected:N0} messages after {timeout.TotalSeconds:F0} s.");
            }
            elapsed = Stopwatch.GetElapsedTime(started);
            if (toAck.Count > 0)
                acks.Add(consumer.AcknowledgeAsync(toAck, CancellationToken.None));
            long ackErrors = 0;
            foreach (var ack in acks)
            {
                try
                {
                    await ack.ConfigureAwait(false);
                }
                catch (TieredClientException)
                {
                    ackErrors++;
                }
            }
            return (elapsed, firstAfter, ackErrors);
        }
    }
}
