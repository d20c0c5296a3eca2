using System.Diagnostics;
using Tiered.Client;

namespace Tiered.Bench.Cluster;

/// <summary>
/// One producer (unbatched, so every message is an entry of its own with its own receipt) sending
/// at a steady pace on a thread of its own, whatever happens to the broker: while the topic moves,
/// messages wait in the client and go out once it reconnected. Every receipt is recorded with the
/// time its message was handed to <c>SendAsync</c> and the time the receipt came, so a benchmark
/// can tell receipts of messages sent before an event from those sent after it.
/// </summary>
public sealed class SteadyProducer : IAsyncDisposable
{
    /// <summary>Pending messages the client may hold while the topic has no broker: a minute's worth, so sending never blocks.</summary>
    private const int MaxPending = 20_000;

    private readonly Producer _producer;
    private readonly double _rate;
    private readonly SemaphoreSlim? _window;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(long SentAt, long ReceivedAt)> _receipts = [];
    private readonly Thread _thread;
    private long _errors;
    private int _disposed;
    private string? _lastError;

    private SteadyProducer(Producer producer, double rate, int window)
    {
        (_producer, _rate) = (producer, rate);
        _window = window > 0 ? new SemaphoreSlim(window, window) : null;
        _thread = new Thread(_window is null ? Run : RunWindowed) { IsBackground = true, Name = "steady-producer" };
        _thread.Start();
    }

    public static async Task<SteadyProducer> StartAsync(TieredClient client, string topic, double ratePerSecond)
    {
        var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false, MaxPendingMessages = MaxPending });
        return new SteadyProducer(producer, ratePerSecond, window: 0);
    }

    /// <summary>
    /// Instead of a pace, <paramref name="inFlight"/> messages outstanding, the next sent as soon as
    /// a receipt came (as the cluster tests' ClusterLoad publishes): as fast as the broker answers.
    /// </summary>
    public static async Task<SteadyProducer> StartWindowedAsync(TieredClient client, string topic, int inFlight)
    {
        var producer = await client.CreateProducerAsync(new ProducerOptions(topic) { BatchingEnabled = false, MaxPendingMessages = inFlight });
        return new SteadyProducer(producer, 0, inFlight);
    }

    public long Errors => Interlocked.Read(ref _errors);

    public string? LastError => _lastError;

    /// <summary>When the first receipt of a message sent at or after <paramref name="since"/> (Stopwatch ticks) came; null if none yet.</summary>
    public long? FirstReceiptOfMessageSentAfter(long since)
    {
        lock (_receipts)
        {
            // One producer's receipts come in send order: walk back while the messages were sent after `since`.
            long? first = null;
            for (var i = _receipts.Count - 1; i >= 0 && _receipts[i].SentAt >= since; i--)
                first = _receipts[i].ReceivedAt;
            return first;
        }
    }

    /// <summary>The receipt times (Stopwatch ticks) from <paramref name="from"/> to <paramref name="to"/>, in order.</summary>
    public List<long> ReceiptsBetween(long from, long to)
    {
        lock (_receipts)
            return [.. _receipts.Where(r => r.ReceivedAt >= from && r.ReceivedAt <= to).Select(r => r.ReceivedAt).Order()];
    }

    /// <summary>Every receipt so far: when its message was handed to <c>SendAsync</c> and when the receipt came (Stopwatch ticks).</summary>
    public List<(long SentAt, long ReceivedAt)> Receipts()
    {
        lock (_receipts)
            return [.. _receipts];
    }

    /// <summary>When the last receipt came (Stopwatch ticks), 0 if none.</summary>
    public long LastReceipt
    {
        get
        {
            lock (_receipts)
                return _receipts.Count == 0 ? 0 : _receipts.Max(r => r.ReceivedAt);
        }
    }

    /// <summary>Waits (with a deadline) until a message sent at or after <paramref name="since"/> was receipted; returns when its receipt came.</summary>
    public async Task<long> WaitForReceiptAfterAsync(long since, TimeSpan timeout, string when)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (FirstReceiptOfMessageSentAfter(since) is { } at)
                return at;
            if (Stopwatch.GetElapsedTime(started) > timeout)
                throw new TimeoutException($"{when}: no receipt of a message sent since then within {timeout.TotalSeconds:F0} s (send errors {Errors}, last: {_lastError ?? "none"}).");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Paces with <see cref="Thread.Sleep(int)"/> (about 1 ms here; .NET timers fire every ~4 ms on
    /// this VM), sending what is due each time.
    /// </summary>
    private void Run()
    {
        var started = Stopwatch.GetTimestamp();
        long sent = 0;
        var payload = new byte[100];
        while (!_stop.IsCancellationRequested)
        {
            var due = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * _rate) - sent;
            if (due <= 0)
            {
                Thread.Sleep(1);
                continue;
            }
            for (var i = 0; i < due; i++)
            {
                var sentAt = Stopwatch.GetTimestamp();
                _ = TrackAsync(_producer.SendAsync(payload), sentAt);
            }
            sent += due;
        }
    }

    private void RunWindowed()
    {
        var payload = new byte[100];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                _window!.Wait(_stop.Token);
                _ = TrackAsync(_producer.SendAsync(payload), Stopwatch.GetTimestamp());
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task TrackAsync(ValueTask<MessageId> send, long sentAt)
    {
        try
        {
            await send.ConfigureAwait(false);
            var now = Stopwatch.GetTimestamp();
            lock (_receipts)
                _receipts.Add((sentAt, now));
        }
        catch (Exception e) when (e is TieredClientException or ObjectDisposedException or OperationCanceledException)
        {
            Interlocked.Increment(ref _errors);
            _lastError = e.Message;
        }
        finally
        {
            _window?.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await _stop.CancelAsync();
        _thread.Join();
        await _producer.DisposeAsync();
        _stop.Dispose();
        _window?.Dispose();
    }
}
