using System.Diagnostics;
using HdrHistogram;

namespace Tiered.Bench.Compare;

/// <summary>Publishing measured: receipted messages, the time they took, and publish-to-ack latency in microseconds.</summary>
public sealed record PublishResult(int MessageSize, long Messages, TimeSpan Elapsed, HistogramBase Latency, long Errors, string? FirstError, CpuUsage Cpu)
{
    public double MessagesPerSecond => Messages / Elapsed.TotalSeconds;

    public double MBPerSecond => Messages * (double)MessageSize / 1e6 / Elapsed.TotalSeconds;

    public double Ms(double percentile) => Messages == 0 ? double.NaN : Latency.GetValueAtPercentile(percentile) / 1000.0;
}

/// <summary>Delivery measured: messages delivered to the application over all consumers, from the start of the phase until the last.</summary>
public sealed record DeliveryResult(long Published, long Expected, long Delivered, TimeSpan Elapsed, CpuUsage Cpu, PublishResult? Publish)
{
    public bool Complete => Delivered >= Expected;

    public double MessagesPerSecond => Delivered / Elapsed.TotalSeconds;
}

/// <summary>
/// The workloads of the comparison, the same for every <see cref="IMessagingSystem"/>: a windowed publisher
/// (at most <c>window</c> publishes unacknowledged; latency from the publish call to its acknowledgement),
/// fan-out to several subscriptions, and a consumer catching up over a stored backlog.
/// </summary>
public sealed class CompareWorkloads(IMessagingSystem system, CancellationToken cancellationToken)
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(120);
    private int _streams;

    public string NextStream(string workload) => FormattableString.Invariant($"bench-{workload}-{++_streams}");

    /// <summary>Publishes for <paramref name="duration"/> to a new stream with one (unread) subscription, which is deleted afterwards.</summary>
    public async Task<PublishResult> PublishForAsync(string workload, int messageSize, int window, bool best, TimeSpan duration)
    {
        var stream = NextStream(workload);
        await system.CreateStreamAsync(stream, 1, cancellationToken);
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var result = await PublishAsync(stream, messageSize, window, best, long.MaxValue, stopAt);
        await system.DeleteStreamAsync(stream, cancellationToken);
        return result;
    }

    /// <summary>
    /// Fan-out: a stream with <paramref name="subscriptions"/> subscriptions, a consumer on each, and one publisher of
    /// <paramref name="messages"/> messages; delivered msg/s counts every subscription's copy.
    /// </summary>
    public async Task<DeliveryResult> FanOutAsync(int subscriptions, long messages, int messageSize, int window, bool best, TimeSpan timeout)
    {
        var stream = NextStream("fanout");
        await system.CreateStreamAsync(stream, subscriptions, cancellationToken);
        var counter = new DeliveryCounter();
        var consumers = new List<IAsyncDisposable>();
        try
        {
            for (var i = 0; i < subscriptions; i++)
                consumers.Add(await system.ConsumeAsync(stream, i, counter, cancellationToken));
            var cpu = CpuMeter.Start([system.ServerPid]);
            var started = Stopwatch.GetTimestamp();
            var publish = await PublishAsync(stream, messageSize, window, best, messages, long.MaxValue);
            var expected = publish.Messages * subscriptions;
            await WaitForAsync(counter, expected, timeout);
            var elapsed = Stopwatch.GetElapsedTime(started);
            return new DeliveryResult(publish.Messages, expected, counter.Count, elapsed, cpu.Stop(), publish);
        }
        finally
        {
            foreach (var consumer in consumers)
                await consumer.DisposeAsync();
            await system.DeleteStreamAsync(stream, cancellationToken);
        }
    }

    /// <summary>Catch-up: <paramref name="messages"/> published to a stream with one subscription and no consumer, then one consumer reads them all from the first.</summary>
    public async Task<DeliveryResult> CatchUpAsync(long messages, int messageSize, int window, bool best, TimeSpan timeout)
    {
        var stream = NextStream("catchup");
        await system.CreateStreamAsync(stream, 1, cancellationToken);
        try
        {
            var fill = await PublishAsync(stream, messageSize, window, best, messages, long.MaxValue);
            Console.Error.WriteLine(FormattableString.Invariant($"    stored {fill.Messages:N0} in {fill.Elapsed.TotalSeconds:F1} s ({fill.MessagesPerSecond:N0} msg/s); catching up..."));
            var counter = new DeliveryCounter();
            var cpu = CpuMeter.Start([system.ServerPid]);
            var started = Stopwatch.GetTimestamp();
            await using (await system.ConsumeAsync(stream, 0, counter, cancellationToken))
            {
                await WaitForAsync(counter, fill.Messages, timeout);
                var elapsed = Stopwatch.GetElapsedTime(started);
                return new DeliveryResult(fill.Messages, fill.Messages, counter.Count, elapsed, cpu.Stop(), fill);
            }
        }
        finally
        {
            await system.DeleteStreamAsync(stream, cancellationToken);
        }
    }

    /// <summary>Until <paramref name="count"/> messages are receipted or <paramref name="stopAt"/>, whichever first; then waits for every outstanding acknowledgement.</summary>
    private async Task<PublishResult> PublishAsync(string stream, int messageSize, int window, bool best, long count, long stopAt)
    {
        var payload = new byte[messageSize];
        Random.Shared.NextBytes(payload);
        var recorder = new LatencyRecorder();
        await using var publisher = await system.CreatePublisherAsync(stream, window, best, cancellationToken);
        using var slots = new SemaphoreSlim(window, window);
        var cpu = CpuMeter.Start([system.ServerPid]);
        var started = Stopwatch.GetTimestamp();
        long sent = 0;
        while (sent < count && Stopwatch.GetTimestamp() < stopAt)
        {
            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            sent++;
            var sentAt = Stopwatch.GetTimestamp();
            _ = TrackAsync(publisher.PublishAsync(payload), sentAt, recorder, slots, messageSize);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(DrainTimeout);
        for (var i = 0; i < window; i++)
            await slots.WaitAsync(deadline.Token).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        return new PublishResult(messageSize, recorder.Messages, elapsed, recorder.TakeHistogram(), recorder.Errors, recorder.FirstError, cpu.Stop());
    }

    private static async Task TrackAsync(ValueTask publish, long sentAt, LatencyRecorder recorder, SemaphoreSlim slots, int messageSize)
    {
        try
        {
            await publish.ConfigureAwait(false);
            recorder.Record((long)Stopwatch.GetElapsedTime(sentAt).TotalMicroseconds, messageSize);
        }
        catch (Exception e)
        {
            // Any client's failure counts as an error of the run, whatever its type.
            recorder.Error(e);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task WaitForAsync(DeliveryCounter counter, long expected, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (counter.Count < expected && Stopwatch.GetTimestamp() < deadline)
            await Task.Delay(5, cancellationToken);
    }
}
