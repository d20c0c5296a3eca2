using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using HdrHistogram;
using Tiered.Bookie.V1;
using Tiered.Ledger;
using BookieRpc = Tiered.Bookie.V1.Bookie;

namespace Tiered.Bench;

/// <summary>
/// A ledger writer reduced to its data path, over raw gRPC: one <c>AddEntries</c> stream per
/// ensemble bookie, entries striped by <see cref="DistributionSchedule"/>, confirmed in entry
/// order by <see cref="AddConfirmations"/> (as a real writer must), with exactly
/// <c>inFlight</c> entries outstanding. Each entry carries the current LAC and its digest.
/// One driver writes one ledger for one phase. Acks update the confirmations under one short
/// lock in the stream's receive loop rather than through another queue: the benchmark shares
/// the machine's cores with the bookies, so it avoids a thread hop per ack.
/// </summary>
public sealed class LedgerAddDriver : IDisposable
{
    private const long HighestMicros = 60_000_000;
    private const int MaxSendBatch = 256;
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyList<BookieRpc.BookieClient> _ensemble;
    private readonly DistributionSchedule _schedule;
    private readonly long _ledgerId;
    private readonly ByteString _payload;
    private readonly int _inFlight;
    private readonly Lock _lock = new();
    private readonly AddConfirmations _confirmations;
    private readonly LongHistogram _latency = new(HighestMicros, 3);
    private readonly long[] _sentAt;
    private readonly long _ringMask;
    private readonly SemaphoreSlim _window;
    private long _lastAddConfirmed = -1;
    private long _confirmed;
    private long _errors;
    private string? _firstError;

    public LedgerAddDriver(IReadOnlyList<BookieRpc.BookieClient> ensemble, DistributionSchedule schedule, long ledgerId, ByteString payload, int inFlight)
    {
        (_ensemble, _schedule, _ledgerId, _payload, _inFlight) = (ensemble, schedule, ledgerId, payload, inFlight);
        _confirmations = new AddConfirmations(schedule);
        var ring = (int)BitOperations.RoundUpToPowerOf2((uint)inFlight);
        _sentAt = new long[ring];
        _ringMask = ring - 1;
        _window = new SemaphoreSlim(inFlight, inFlight);
    }

    /// <summary>Entries confirmed so far (for progress lines).</summary>
    public long Confirmed => Interlocked.Read(ref _confirmed);

    /// <summary>
    /// Adds entries for <paramref name="duration"/>, as fast as the window allows or, with
    /// <paramref name="perSecond"/>, on a fixed schedule (checked every millisecond, so sends go
    /// out in bursts of about a millisecond's worth); then waits until every sent entry is
    /// confirmed and ends the streams.
    /// </summary>
    public async Task<(long Entries, TimeSpan Elapsed, HistogramBase Latency, long Errors, string? FirstError)> RunAsync(
        TimeSpan duration, double? perSecond, CancellationToken cancellationToken)
    {
        var calls = _ensemble.Select(client => client.AddEntries(cancellationToken: CancellationToken.None)).ToArray();
        var outboxes = calls.Select(_ => Channel.CreateUnbounded<AddRequest>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true })).ToArray();
        var senders = calls.Select((call, i) => Task.Run(() => SendAsync(call, outboxes[i].Reader), CancellationToken.None)).ToArray();
        var receivers = calls.Select((call, i) => Task.Run(() => ReceiveAsync(call, i), CancellationToken.None)).ToArray();

        var elapsed = await Task.Factory.StartNew(() => SendFor(duration, perSecond, outboxes, cancellationToken),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        var entries = Confirmed;

        await WaitUntilDrainedAsync().ConfigureAwait(false);
        foreach (var outbox in outboxes)
            outbox.Writer.TryComplete();
        await Task.WhenAll(senders).ConfigureAwait(false);
        await Task.WhenAll(receivers).WaitAsync(DrainTimeout, CancellationToken.None).ConfigureAwait(false);
        foreach (var call in calls)
            call.Dispose();
        lock (_lock)
            return (entries, elapsed, _latency.Copy(), Interlocked.Read(ref _errors), _firstError);
    }

    /// <summary>
    /// The send loop, on a thread of its own: it blocks on the window and paces with
    /// <see cref="Thread.Sleep(int)"/>, which keeps 1 ms here, where .NET timers (Task.Delay)
    /// fire only every ~4 ms on some kernels. Returns how long it sent.
    /// </summary>
    private TimeSpan SendFor(TimeSpan duration, double? perSecond, Channel<AddRequest>[] outboxes, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var started = Stopwatch.GetTimestamp();
        var stopAt = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long sent = 0;
        while (Stopwatch.GetTimestamp() < stopAt && !stop.IsCancellationRequested)
        {
            var allowed = long.MaxValue;
            if (perSecond is { } rate)
            {
                allowed = (long)(Stopwatch.GetElapsedTime(started).TotalSeconds * rate) - sent;
                if (allowed <= 0)
                {
                    Thread.Sleep(1);
                    continue;
                }
            }
            try
            {
                _window.Wait(stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var batch = 1;
            while (batch < allowed && batch < MaxSendBatch && _window.Wait(0))
                batch++;
            for (var i = 0; i < batch; i++)
                SendNext(outboxes);
            sent += batch;
        }
        return Stopwatch.GetElapsedTime(started);
    }

    private void SendNext(Channel<AddRequest>[] outboxes)
    {
        long entryId;
        lock (_lock)
            entryId = _confirmations.Add();
        var lac = Volatile.Read(ref _lastAddConfirmed);
        var request = new AddRequest
        {
            LedgerId = _ledgerId,
            EntryId = entryId,
            LastAddConfirmed = lac,
            Payload = _payload,
            Digest = LedgerDigest.Compute(_ledgerId, entryId, lac, _payload.Span),
        };
        Volatile.Write(ref _sentAt[entryId & _ringMask], Stopwatch.GetTimestamp());
        for (var replica = 0; replica < _schedule.WriteQuorum; replica++)
            outboxes[_schedule.BookieIndex(entryId, replica)].Writer.TryWrite(request);
    }

    private static async Task SendAsync(AsyncDuplexStreamingCall<AddRequest, AddResponse> call, ChannelReader<AddRequest> outbox)
    {
        await foreach (var request in outbox.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            await call.RequestStream.WriteAsync(request, CancellationToken.None).ConfigureAwait(false);
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
    }

    private async Task ReceiveAsync(AsyncDuplexStreamingCall<AddRequest, AddResponse> call, int bookieIndex)
    {
        await foreach (var response in call.ResponseStream.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            if (response.Code != Code.Ok && Interlocked.Increment(ref _errors) == 1)
                _firstError = string.Create(CultureInfo.InvariantCulture, $"{response.Code} for entry {response.EntryId} from bookie {bookieIndex + 1}: {response.Message}");
            var now = Stopwatch.GetTimestamp();
            int confirmed;
            lock (_lock)
            {
                var first = _confirmations.LastAddConfirmed + 1;
                confirmed = _confirmations.Ack(response.EntryId, bookieIndex);
                for (var entryId = first; entryId < first + confirmed; entryId++)
                {
                    var micros = (now - _sentAt[entryId & _ringMask]) * 1_000_000 / Stopwatch.Frequency;
                    _latency.RecordValue(Math.Clamp(micros, 1, HighestMicros));
                }
                if (confirmed > 0)
                    Volatile.Write(ref _lastAddConfirmed, _confirmations.LastAddConfirmed);
            }
            if (confirmed > 0)
            {
                Interlocked.Add(ref _confirmed, confirmed);
                _window.Release(confirmed);
            }
        }
    }

    /// <summary>Waits (with a deadline) until every sent entry is confirmed.</summary>
    private async Task WaitUntilDrainedAsync()
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(DrainTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            int pending;
            lock (_lock)
                pending = _confirmations.Pending;
            if (pending == 0)
                return;
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"{pending} of at most {_inFlight} entries of ledger {_ledgerId} were still unconfirmed {DrainTimeout.TotalSeconds:F0} s after the writer stopped.");
            await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Dispose() => _window.Dispose();
}
