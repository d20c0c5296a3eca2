using System.Threading.Channels;
using System.Threading.Tasks.Sources;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Tiered.Bookie.V1;
using Tiered.Metadata;

namespace Tiered.Ledger;

/// <summary>
/// The single writer of an open ledger. Adds are pipelined: each is striped to its Qw bookies
/// at once and confirmed, strictly in entry order, once Qa of them journaled it; every add
/// carries the current last add confirmed (LAC). One short lock owns the mutable state (entry
/// ids, ack masks, pending adds); it is never held across an await. Callers are completed by
/// one completion loop, fed in entry order under that lock, so their continuations run in entry
/// order and never on a bookie's receive loop. Nothing is allocated per add but the request
/// (and the ByteString that wraps the payload): payloads are not copied, a large one's CRC is computed before the lock is taken
/// (<see cref="EntryPayload"/>), and the per-add state (<see cref="PendingAdd"/>, which is also
/// the awaited <see cref="IValueTaskSource{TResult}"/>) is pooled.
/// </summary>
public sealed partial class LedgerWriter : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly LedgerMetadataStore _ledgers;
    private readonly DistributionSchedule _schedule;
    private readonly AddConfirmations _confirmations;
    private readonly Dictionary<long, PendingAdd> _pending = [];
    private readonly SemaphoreSlim _window;
    private readonly BookieStream[] _streams;
    private readonly ILogger _logger;
    private readonly Channel<PendingAdd> _completions = Channel.CreateUnbounded<PendingAdd>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _completing;
    private readonly TimeProvider _time;
    private readonly TimeSpan _addTimeout;
    private readonly BookieClientPool _pool;
    private readonly LedgerClientOptions _options;
    private readonly CancellationTokenSource _stopWatching = new();
    private readonly Task _watchingTimeouts;
    private readonly BookieQuarantine _quarantine;
    private readonly Instrumentation? _instrumentation;
    private readonly Lock _freeLock = new();
    private readonly Stack<PendingAdd> _free = new();
    private readonly int _freeLimit;
    private VersionedLedgerMetadata _metadata;
    private LedgerException? _failure;
    private TaskCompletionSource? _drained;

    /// <summary>Set (under the lock) while the add-timeout watch sleeps because nothing is pending; the next add completes it.</summary>
    private TaskCompletionSource? _addsWanted;
    private long _confirmedBytes;
    private bool _closing;
    private bool _shutDown;

    internal LedgerWriter(VersionedLedgerMetadata metadata, LedgerMetadataStore ledgers, BookieClientPool pool, LedgerClientOptions options, ILogger logger,
        BookieQuarantine? quarantine = null, Instrumentation? instrumentation = null)
    {
        _instrumentation = instrumentation;
        (_metadata, _ledgers, _pool, _options, _logger) = (metadata, ledgers, pool, options, logger);
        _quarantine = quarantine ?? new BookieQuarantine(TimeSpan.Zero, options.TimeProvider);
        var m = metadata.Metadata;
        _schedule = new DistributionSchedule(m.EnsembleSize, m.WriteQuorum, m.AckQuorum);
        _confirmations = new AddConfirmations(_schedule);
        _window = new SemaphoreSlim(options.MaxPendingAdds, options.MaxPendingAdds);
        _freeLimit = Math.Min(options.MaxPendingAdds, 4096);
        (_time, _addTimeout) = (options.TimeProvider, options.AddTimeout);
        var ensemble = m.Segments[^1].Bookies;
        _streams = new BookieStream[ensemble.Count];
        for (var i = 0; i < ensemble.Count; i++)
            _streams[i] = new BookieStream(this, i, ensemble[i], pool.Get(ensemble[i]));
        _completing = Task.Run(CompleteAddsAsync);
        _watchingTimeouts = Task.Run(WatchAddTimeoutsAsync);
        // Last: a stream that fails at once (a dead bookie still registered) must find the writer whole.
        foreach (var stream in _streams)
            stream.Start();
    }

    private async Task CompleteAddsAsync()
    {
        await foreach (var add in _completions.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // Nothing of the add is touched after it is completed: its caller (or its awaiter's
            // GetResult) may return it to the pool at once, and another add take it.
            if (add.Error is null)
            {
                _instrumentation?.AddLatency.Record(_time.GetElapsedTime(add.AddedAt).TotalSeconds);
                add.Complete(add.Request!.EntryId, null);
            }
            else
                add.Complete(add.Request?.EntryId ?? -1, add.Error);
        }
    }

    public long LedgerId => _metadata.LedgerId;

    /// <summary>Highest entry id such that it and every entry before it were acknowledged by Qa bookies.</summary>
    public long LastAddConfirmed
    {
        get
        {
            lock (_lock)
                return _confirmations.LastAddConfirmed;
        }
    }

    /// <summary>The ledger's metadata as this writer last stored or read it.</summary>
    public LedgerMetadata Metadata => _metadata.Metadata;

    /// <summary>
    /// Adds in flight before <see cref="AddEntryAsync"/> waits for room. A caller that keeps fewer
    /// than this many of its adds unconfirmed never waits, so its adds get entry ids in call order.
    /// </summary>
    public int MaxPendingAdds => _options.MaxPendingAdds;

    /// <summary>
    /// A reader of the entries this writer has confirmed so far (up to <see cref="LastAddConfirmed"/>
    /// now), for reading the ledger while it is still being written. The bookies serve every entry
    /// up to the LAC; later entries need a new reader.
    /// </summary>
    public LedgerReader CreateReader()
    {
        // The LAC first: an ensemble change after it only adds segments that start past it.
        var lac = LastAddConfirmed;
        return new LedgerReader(_metadata, lac, _pool, _options, _logger);
    }

    /// <summary>
    /// Appends an entry; completes with its id once Qa bookies journaled it and every earlier
    /// entry is confirmed. Waits while <see cref="LedgerClientOptions.MaxPendingAdds"/> adds are in
    /// flight; <paramref name="cancellationToken"/> only cancels that wait, not an add already sent.
    /// The payload is not copied: it must not change afterwards (it is sent to the bookies, and
    /// sent again after an ensemble change, as long as the writer is open). Await the result once
    /// (it is a pooled <see cref="IValueTaskSource{TResult}"/>), or call AsTask().
    /// </summary>
    /// <exception cref="ArgumentException">Empty payload or larger than 5 MiB.</exception>
    /// <exception cref="LedgerFencedException">A recovering reader fenced the ledger.</exception>
    /// <exception cref="LedgerException">A bookie of the write set failed and no replacement could be found (or stored in the metadata).</exception>
    /// <exception cref="InvalidOperationException">The writer is closed.</exception>
    public ValueTask<long> AddEntryAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        if (InvalidPayload(payload) is { } invalid)
            return ValueTask.FromException<long>(invalid);
        var entry = EntryPayload.Of(payload);
        var room = _window.WaitAsync(cancellationToken);
        if (!room.IsCompletedSuccessfully)
            return AddWhenRoomAsync(room, entry);
        var add = Rent(callback: null);
        var version = add.Version;
        if (Enqueue(add, entry) is { } refused)
        {
            Return(add);
            return ValueTask.FromException<long>(refused);
        }
        return new ValueTask<long>(add, version);
    }

    /// <summary>The window was full (or the wait cancelled): the slow path of <see cref="AddEntryAsync"/>.</summary>
    private async ValueTask<long> AddWhenRoomAsync(Task room, EntryPayload entry)
    {
        if (!room.IsCompleted && IsClosing())
        {
            // Refused at once rather than after the drain; the slot the wait still takes goes back.
            _ = room.ContinueWith(static (_, window) => ((SemaphoreSlim)window!).Release(), _window, CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw Closed();
        }
        await room.ConfigureAwait(false);
        var add = Rent(callback: null);
        var version = add.Version;
        if (Enqueue(add, entry) is { } refused)
        {
            Return(add);
            throw refused;
        }
        return await new ValueTask<long>(add, version).ConfigureAwait(false);
    }

    /// <summary>
    /// Appends an entry without a task: <paramref name="callback"/> hears of it once (see
    /// <see cref="ILedgerAddCallback.AddCompleted"/>), on the completion loop, even when the writer
    /// refuses it (closing, failed). Never waits: the caller keeps fewer than
    /// <see cref="MaxPendingAdds"/> of its adds unconfirmed (an add counts until its callback), so its
    /// adds get entry ids in call order. The payload's bytes are not copied (see <see cref="EntryPayload.Of"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Empty payload or larger than 5 MiB.</exception>
    /// <exception cref="InvalidOperationException"><see cref="MaxPendingAdds"/> adds are unconfirmed already.</exception>
    public void AddEntry(in EntryPayload payload, ILedgerAddCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (InvalidPayload(payload.Bytes) is { } invalid)
            throw invalid;
        if (!_window.Wait(0))
            throw new InvalidOperationException($"Ledger {LedgerId}: {MaxPendingAdds} adds are unconfirmed already; wait for a callback before the next add.");
        var add = Rent(callback);
        if (Enqueue(add, payload) is { } refused)
        {
            add.Error = refused;
            // After a shutdown the completion loop is gone: the callback still hears, off this thread.
            if (!_completions.Writer.TryWrite(add))
                ThreadPool.UnsafeQueueUserWorkItem(static a => a.Complete(-1, a.Error), add, preferLocal: false);
        }
    }

    private ArgumentException? InvalidPayload(ReadOnlyMemory<byte> payload)
    {
        if (payload.IsEmpty)
            return new ArgumentException($"Ledger {LedgerId}: an entry must not be empty.", nameof(payload));
        if (payload.Length > LedgerClientOptions.MaxEntryBytes)
            return new ArgumentException($"Ledger {LedgerId}: an entry of {payload.Length} bytes is larger than the {LedgerClientOptions.MaxEntryBytes} byte (5 MiB) limit.", nameof(payload));
        return null;
    }

    /// <summary>
    /// With a window slot taken: gives the add its entry id and sends it; or, when the writer is
    /// closing or failed, gives the slot back and returns why (the add is then the caller's again).
    /// A large payload's CRC was computed before; under the lock only the header's is, and combined.
    /// </summary>
    private Exception? Enqueue(PendingAdd add, in EntryPayload payload)
    {
        var bytes = UnsafeByteOperations.UnsafeWrap(payload.Bytes);
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_closing || _failure is not null)
            {
                _window.Release();
                return _closing ? Closed() : _failure!.Copy();
            }
            var entryId = _confirmations.Add();
            var lac = _confirmations.LastAddConfirmed;
            add.Request = new AddRequest
            {
                LedgerId = LedgerId,
                EntryId = entryId,
                LastAddConfirmed = lac,
                Payload = bytes,
                Digest = LedgerDigest.Compute(LedgerId, entryId, lac, payload),
            };
            add.AddedAt = add.SentAt = now;
            _pending.Add(entryId, add);
            if (_addsWanted is { } wanted)
            {
                // The add-timeout watch sleeps while nothing is pending: this add starts its clock.
                _addsWanted = null;
                wanted.TrySetResult();
            }
            // Sent under the lock so every bookie sees its entries in id order with rising LACs;
            // during an ensemble change it is held (pending, in the window) and sent on resume.
            if (!_changing)
                SendToWriteSet(add);
        }
        return null;
    }

    private PendingAdd Rent(ILedgerAddCallback? callback)
    {
        PendingAdd? add;
        lock (_freeLock)
            _free.TryPop(out add);
        add ??= new PendingAdd(this);
        add.Callback = callback;
        return add;
    }

    /// <summary>An add whose caller has heard of it goes back to the pool.</summary>
    private void Return(PendingAdd add)
    {
        add.Reset();
        lock (_freeLock)
        {
            if (_free.Count < _freeLimit)
                _free.Push(add);
        }
    }

    private bool IsClosing()
    {
        lock (_lock)
            return _closing;
    }

    private InvalidOperationException Closed() => new($"Ledger {LedgerId} is closed (or closing) for writes; create a new ledger to add more entries.");

    /// <summary>A bookie journaled an entry or refused it.</summary>
    private void OnAddResponse(BookieStream stream, AddResponse response)
    {
        switch (response.Code)
        {
            case Code.Ok:
                OnAck(response.EntryId, stream);
                break;
            case Code.Fenced:
                LedgerLog.Fenced(_logger, LedgerId);
                FailFrom(response.EntryId, new LedgerFencedException(LedgerId));
                break;
            default:
                OnBookieFailed(stream, $"it refused entry {response.EntryId} with {response.Code}: {response.Message}", null);
                break;
        }
    }

    private void OnAck(long entryId, BookieStream stream)
    {
        var bookieIndex = stream.Index;
        lock (_lock)
        {
            // A replaced (or failed) bookie's late acks do not count: its entries are re-sent.
            if (stream.Failed || !ReferenceEquals(_streams[bookieIndex], stream))
                return;
            // Entries already failed are no longer pending: their acks must not move the LAC.
            if (!_pending.TryGetValue(entryId, out var add))
                return;
            add.AckedBy |= 1UL << bookieIndex;
            var confirmed = _confirmations.Ack(entryId, bookieIndex);
            if (confirmed == 0)
                return;
            var lac = _confirmations.LastAddConfirmed;
            var released = 0;
            for (var id = lac - confirmed + 1; id <= lac; id++)
            {
                if (_pending.Remove(id, out var done))
                {
                    _confirmedBytes += done.Request!.Payload.Length;
                    if (_changing)
                        _confirmedDuringChange.Add(done.Request!);
                    _completions.Writer.TryWrite(done);
                    released++;
                }
            }
            if (released > 0)
                _window.Release(released);
            SignalIfDrained();
        }
    }

    private void FailFrom(long fromEntryId, LedgerException error)
    {
        lock (_lock)
        {
            _failure ??= error;
            var released = 0;
            for (var id = Math.Max(fromEntryId, _confirmations.LastAddConfirmed + 1); id < _confirmations.NextEntryId; id++)
            {
                if (_pending.Remove(id, out var add))
                {
                    add.Error = error.Copy();
                    _completions.Writer.TryWrite(add);
                    released++;
                }
            }
            if (released > 0)
                _window.Release(released);
            SignalIfDrained();
        }
    }

    private void SignalIfDrained()
    {
        if (_pending.Count == 0)
            _drained?.TrySetResult();
    }

    /// <summary>
    /// Per unconfirmed entry: what to re-send after an ensemble change, and who already has it; and
    /// how its caller hears of it: a callback, or this object itself as the awaited value task
    /// source. Pooled: taken by an add, returned once its caller heard (after the callback, or in
    /// <see cref="GetResult"/>). The writer drops every reference before it completes one.
    /// </summary>
    private sealed class PendingAdd(LedgerWriter writer) : IValueTaskSource<long>
    {
        private ManualResetValueTaskSourceCore<long> _completion; // continuations run on the completion loop, in entry order

        public AddRequest? Request { get; set; }

        /// <summary><see cref="TimeProvider"/> timestamp of when it was first sent (for the add latency).</summary>
        public long AddedAt { get; set; }

        /// <summary><see cref="TimeProvider"/> timestamp of when it was sent.</summary>
        public long SentAt { get; set; }

        /// <summary>Bit i set: the bookie at ensemble position i journaled this entry.</summary>
        public ulong AckedBy { get; set; }

        /// <summary>Set when the add failed, before it is handed to the completion loop.</summary>
        public Exception? Error { get; set; }

        /// <summary>Null: the caller awaits this object (<see cref="AddEntryAsync"/>).</summary>
        public ILedgerAddCallback? Callback { get; set; }

        public short Version => _completion.Version;

        /// <summary>Only by the completion loop (or, after a shutdown, once on the thread pool).</summary>
        public void Complete(long entryId, Exception? error)
        {
            if (Callback is { } callback)
            {
                callback.AddCompleted(entryId, error);
                writer.Return(this);
            }
            else if (error is null)
                _completion.SetResult(entryId);
            else
                _completion.SetException(error);
        }

        public void Reset()
        {
            (Request, AckedBy, Error, Callback) = (null, 0, null, null);
            _completion.Reset();
        }

        public long GetResult(short token)
        {
            try
            {
                return _completion.GetResult(token);
            }
            finally
            {
                writer.Return(this);
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _completion.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _completion.OnCompleted(continuation, state, token, flags);
    }
}
