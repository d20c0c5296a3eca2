using System.Threading.Tasks.Sources;
using Tiered.Ledger;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedLedger
{
    /// <summary>Adds waiting for the current ledger (a rollover in progress, or its writer's window full), in call order.</summary>
    private readonly Queue<PendingAdd> _queued = new();
    private OpenLedger? _current;
    private Task? _rollover;
    private bool _closing;
    private int _pendingAdds;

    /// <summary>Adds whose holders all let go, for reuse (a busy topic has up to a writer window of them in flight).</summary>
    private readonly Stack<PendingAdd> _freeAdds = new();
    private readonly Lock _freeAddsLock = new();
    private const int MaxFreeAdds = 4096;
    private TaskCompletionSource? _addsDrained;
    private long _addFailures;

    /// <summary>
    /// How many adds have failed so far. A caller that must never have an add stored after an earlier one that failed
    /// (producer de-duplication: the failed one is sent again later) reads it before it looks at its earlier adds, and
    /// passes it to <see cref="AddEntryAsync(ReadOnlyMemory{byte}, long, CancellationToken)"/>.
    /// </summary>
    public long AddFailures => Interlocked.Read(ref _addFailures);

    /// <summary>
    /// Appends an entry; completes with its position once an ack quorum stored it, in the order
    /// of the calls. The entry is not copied: it is sent to the bookies (and kept in the entry cache
    /// by reference when it is large and cached), so it must not change afterwards (the broker hands
    /// over the bytes of the produce request it parsed, which nothing writes to again). Await the
    /// result once (it is a pooled <see cref="IValueTaskSource{TResult}"/>), or call AsTask().
    /// </summary>
    /// <exception cref="ManagedLedgerFencedException">Another owner took over.</exception>
    /// <exception cref="ManagedLedgerException">The entry could not be stored; it may be added again.</exception>
    public ValueTask<Position> AddEntryAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        => AddEntryAsync(data, expectedFailures: -1, cancellationToken);

    /// <summary>
    /// Appends an entry unless an add failed since the caller read <see cref="AddFailures"/> as
    /// <paramref name="expectedFailures"/> (-1: whatever failed): an add that failed meanwhile could not have been seen
    /// by the caller, and this one, stored in the next ledger, would land after it.
    /// </summary>
    /// <exception cref="ManagedLedgerException">An add failed meanwhile, or the entry could not be stored; it may be added again.</exception>
    public ValueTask<Position> AddEntryAsync(ReadOnlyMemory<byte> data, long expectedFailures, CancellationToken cancellationToken)
        => Add(data, expectedFailures, wantHandle: false, out _, cancellationToken);

    /// <summary>
    /// <see cref="AddEntryAsync(ReadOnlyMemory{byte}, long, CancellationToken)"/> for a caller that also looks at the
    /// add's outcome apart from its one await: <paramref name="handle"/> keeps the add (and its outcome) until
    /// released, and gives a second waiter (de-duplication answering a resend of a batch still being stored).
    /// </summary>
    public ValueTask<Position> AddEntryAsync(ReadOnlyMemory<byte> data, long expectedFailures, out AddHandle handle, CancellationToken cancellationToken)
        => Add(data, expectedFailures, wantHandle: true, out handle, cancellationToken);

    private ValueTask<Position> Add(ReadOnlyMemory<byte> data, long expectedFailures, bool wantHandle, out AddHandle handle, CancellationToken cancellationToken)
    {
        if (data.IsEmpty)
            throw new ArgumentException($"Managed ledger {Name}: an entry must not be empty.", nameof(data));
        if (data.Length > LedgerClientOptions.MaxEntryBytes)
            throw new ArgumentException($"Managed ledger {Name}: an entry of {data.Length} bytes is larger than the {LedgerClientOptions.MaxEntryBytes} byte limit.", nameof(data));
        if (cancellationToken.IsCancellationRequested)
            return Refused(new OperationCanceledException(cancellationToken), out handle);
        // A large payload's CRC is computed here, before any lock: the writer only combines it with the entry's header.
        var payload = EntryPayload.Of(data);
        // Held by the ledger until it completes the add, by the caller's await, and by the handle if one is asked for.
        var add = RentAdd(payload, holders: wantHandle ? 3 : 2);
        var version = add.Version;
        ManagedLedgerException? refused = null;
        lock (_lock)
        {
            if (_terminal is { } terminal)
                refused = Copy(terminal);
            else if (_closing)
                refused = new ManagedLedgerClosedException($"Managed ledger {Name} is closing.");
            else if (expectedFailures >= 0 && _addFailures != expectedFailures)
                refused = new ManagedLedgerException(
                    $"Managed ledger {Name}: an earlier add failed while this entry was on its way; it was not stored. Send again from the first one that failed.");
            else
            {
                _pendingAdds++;
                _queued.Enqueue(add);
                SendQueuedAdds();
            }
        }
        if (refused is not null)
        {
            ReturnAdd(add);
            return Refused(refused, out handle);
        }
        handle = wantHandle ? new AddHandle(add, version) : default;
        return new ValueTask<Position>(add, version);
    }

    private static ValueTask<Position> Refused(Exception error, out AddHandle handle)
    {
        handle = AddHandle.Refused(error);
        return ValueTask.FromException<Position>(error);
    }

    /// <summary>A pooled add (or a new one), its holders set.</summary>
    private PendingAdd RentAdd(EntryPayload payload, int holders)
    {
        PendingAdd? add;
        lock (_freeAddsLock)
            _freeAdds.TryPop(out add);
        add ??= new PendingAdd(this);
        add.Start(payload, holders);
        return add;
    }

    /// <summary>Once its last holder let go: the add is reset (its version moves on) and kept for the next one.</summary>
    private void ReturnAdd(PendingAdd add)
    {
        add.Reset();
        lock (_freeAddsLock)
        {
            if (_freeAdds.Count < MaxFreeAdds)
                _freeAdds.Push(add);
        }
    }

    /// <summary>
    /// Under the lock: hands queued adds to the current ledger's writer while it takes them without
    /// waiting (so they get entry ids in call order), or starts a rollover when it is due. Each add
    /// is its own writer callback (<see cref="OnAddCompleted"/>): nothing is allocated to follow it.
    /// </summary>
    private void SendQueuedAdds()
    {
        while (_queued.Count > 0 && _rollover is null && _terminal is null)
        {
            var current = _current;
            if (current is null || current.Failed || IsRolloverDue(current))
            {
                if ((current is null || current.Failed) && _creationBackoff.Remaining() is var wait && wait > TimeSpan.Zero)
                {
                    // New ledgers keep failing: none is started before the backoff is over. Adds
                    // still in flight on the failed ledger finish first, so callers fail in order.
                    if (current is null || current.InFlight.Count == 0)
                    {
                        var failures = _creationBackoff.Failures;
                        FailQueuedAdds(() => new ManagedLedgerException(
                            $"Managed ledger {Name}: no ledger to add to: the last {failures} new ledgers failed or could not be created; the next is started in {wait.TotalMilliseconds:0} ms. Send again."));
                    }
                    break;
                }
                _rollover = Task.Run(RolloverAsync);
                break;
            }
            if (current.InFlight.Count >= current.Writer.MaxPendingAdds)
                break;
            var add = _queued.Dequeue();
            current.InFlight.Enqueue(add);
            current.Issued++;
            current.IssuedBytes += add.Data.Length;
            add.Ledger = current;
            // Never waits nor throws: fewer than MaxPendingAdds of this ledger's adds are in flight
            // (an add leaves InFlight only after the writer called back, so after it freed its slot).
            current.Writer.AddEntry(add.Payload, add);
        }
    }

    private bool IsRolloverDue(OpenLedger current)
        => current.Issued >= _options.MaxEntriesPerLedger
           || current.IssuedBytes >= _options.MaxSizePerLedger
           || (current.Issued > 0 && _time.GetUtcNow().ToUnixTimeMilliseconds() - current.Slot.CreatedMs >= (long)_options.MaxLedgerAge.TotalMilliseconds);

    /// <summary>
    /// The writer's answer for <paramref name="add"/> (on its completion loop): in issue order,
    /// confirms or fails the ledger's adds that are done, so callers complete in call order even if
    /// answers were seen out of order.
    /// </summary>
    private void OnAddCompleted(PendingAdd add, long entryId, Exception? error)
    {
        var ledger = add.Ledger!;
        add.EntryId = entryId;
        add.Error = error;
        ManagedLedgerFencedException? fenced = null;
        lock (_lock)
        {
            add.Done = true;
            var confirmed = false;
            var cache = false;
            while (ledger.InFlight.TryPeek(out var head) && head.Done)
            {
                ledger.InFlight.Dequeue();
                _pendingAdds--;
                if (head.Error is null)
                {
                    var position = new Position(ledger.Slot.LedgerId, head.EntryId);
                    ledger.Slot.Entries = head.EntryId + 1;
                    ledger.Slot.Size += head.Data.Length;
                    if (position > _lastConfirmed)
                        _lastConfirmed = position;
                    _entriesAdded++;
                    // Once one is cached the later ones are too: the cursor reading near the tail still does.
                    if (cache || CachesAddLocked(position))
                    {
                        cache = true;
                        _cache.Put(position, head.Data);
                        EntriesCachedOnAdd++;
                    }
                    confirmed = true;
                    head.Complete(position, null);
                    continue;
                }
                if (!ledger.Failed)
                {
                    ledger.Failed = true;
                    ManagedLedgerLog.AddFailed(_logger, Name, ledger.Slot.LedgerId, head.Error);
                    // A ledger that failed before confirming anything: its bookies are failing; pace the next ones.
                    if (ledger.Slot.Entries == 0)
                        _creationBackoff.Failed();
                }
                if (head.Error is LedgerFencedException)
                {
                    fenced ??= new ManagedLedgerFencedException($"Managed ledger {Name}: ledger {ledger.Slot.LedgerId} was fenced; another owner took the managed ledger over.", head.Error);
                    head.Complete(default, Copy(fenced));
                }
                else
                {
                    head.Complete(default, new ManagedLedgerException($"Managed ledger {Name}: the entry could not be stored in ledger {ledger.Slot.LedgerId}: {head.Error.Message}", head.Error));
                }
                // Counted after the failure shows in its task: whoever reads the new count sees the failed task.
                Interlocked.Increment(ref _addFailures);
            }
            if (ledger.InFlight.Count == 0)
                ledger.Drained?.TrySetResult();
            if (confirmed)
            {
                _creationBackoff.Succeeded();
                _entryConfirmed.Confirmed();
            }
            if (fenced is null)
                SendQueuedAdds();
            SignalIfAddsDrained();
        }
        if (fenced is not null)
            Fence(fenced);
    }

    /// <summary>Under the lock.</summary>
    private void SignalIfAddsDrained()
    {
        if (_pendingAdds == 0)
            _addsDrained?.TrySetResult();
    }

    /// <summary>Under the lock: fails every queued add (they never reached a ledger).</summary>
    private void FailQueuedAdds(Func<ManagedLedgerException> error)
    {
        while (_queued.TryDequeue(out var add))
        {
            _pendingAdds--;
            add.Complete(default, error());
            Interlocked.Increment(ref _addFailures);
        }
        SignalIfAddsDrained();
    }

    /// <summary>
    /// Another owner took over (our ledger was fenced or the stored list changed): stop for good.
    /// Queued adds and waiting readers fail; adds already sent fail as the writer reports them.
    /// </summary>
    internal void Fence(ManagedLedgerFencedException error)
    {
        lock (_lock)
        {
            if (_terminal is not null)
                return;
            _terminal = error;
            FailQueuedAdds(() => Copy(error));
            _entryConfirmed.TrySetException(Copy(error));
        }
        ManagedLedgerLog.Fenced(_logger, Name, error);
    }

    /// <summary>
    /// An add on its way: its payload (kept for the cache), its caller's completion (this object is the awaited value
    /// task source) and the writer's callback (this object too): one object per add, and pooled. Its holders (the
    /// ledger until it completes it, the caller's await until <see cref="GetResult"/>, an <see cref="AddHandle"/> until
    /// released) each let go once; the last one returns it to the pool, which resets it and moves its version on.
    /// Until then its outcome stays readable (<see cref="TryGetOutcome"/>), and further waiters share one task made
    /// only when one asks (<see cref="WaitAsync"/>): the common add allocates no task.
    /// </summary>
    internal sealed class PendingAdd(ManagedLedger owner) : IValueTaskSource<Position>, ILedgerAddCallback
    {
        /// <summary>Stands in <see cref="_waiters"/> once the add completed: a waiter asking later reads the outcome.</summary>
        private static readonly TaskCompletionSource<Position> CompletedMark = new();

        // Continuations run on the thread pool: the ledger completes adds under its lock.
        private ManualResetValueTaskSourceCore<Position> _completion = new() { RunContinuationsAsynchronously = true };
        private int _holders;
        private TaskCompletionSource<Position>? _waiters;
        private volatile bool _completed;
        private Position _position;
        private Exception? _failure;

        public EntryPayload Payload { get; private set; }

        public ReadOnlyMemory<byte> Data => Payload.Bytes;

        /// <summary>The ledger it was sent to.</summary>
        public OpenLedger? Ledger { get; set; }

        public bool Done { get; set; }

        public long EntryId { get; set; }

        /// <summary>The writer's error, if it failed the add.</summary>
        public Exception? Error { get; set; }

        public short Version => _completion.Version;

        public void Start(EntryPayload payload, int holders) => (Payload, _holders) = (payload, holders);

        public void AddCompleted(long entryId, Exception? error) => owner.OnAddCompleted(this, entryId, error);

        /// <summary>By the ledger, once (under its lock): the outcome, then the ledger lets go.</summary>
        public void Complete(Position position, Exception? failure)
        {
            (_position, _failure) = (position, failure);
            _completed = true;
            if (failure is null)
                _completion.SetResult(position);
            else
                _completion.SetException(failure);
            if (Interlocked.Exchange(ref _waiters, CompletedMark) is { } waiters && waiters != CompletedMark)
            {
                if (failure is null)
                    waiters.TrySetResult(position);
                else
                    waiters.TrySetException(failure);
            }
            Release();
        }

        public bool TryGetOutcome(short version, out Position position, out Exception? failure)
        {
            CheckHeld(version);
            (position, failure) = (default, null);
            if (!_completed)
                return false;
            (position, failure) = (_position, _failure);
            return true;
        }

        /// <summary>Another waiter for the outcome: at once when known, else one task shared by every such waiter.</summary>
        public ValueTask<Position> WaitAsync(short version)
        {
            CheckHeld(version);
            var waiters = Volatile.Read(ref _waiters);
            if (waiters is null)
            {
                var mine = new TaskCompletionSource<Position>(TaskCreationOptions.RunContinuationsAsynchronously);
                waiters = Interlocked.CompareExchange(ref _waiters, mine, null) ?? mine;
            }
            if (waiters != CompletedMark)
                return new ValueTask<Position>(waiters.Task);
            return _failure is null ? new ValueTask<Position>(_position) : ValueTask.FromException<Position>(_failure);
        }

        public void Hold(short version)
        {
            CheckHeld(version);
            Interlocked.Increment(ref _holders);
        }

        public void Release(short version)
        {
            CheckHeld(version);
            Release();
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _holders) == 0)
                owner.ReturnAdd(this);
        }

        /// <summary>Only once no one holds it.</summary>
        public void Reset()
        {
            (Payload, Ledger, Done, EntryId, Error) = (default, null, false, 0, null);
            (_waiters, _completed, _position, _failure, _holders) = (null, false, default, null, 0);
            _completion.Reset();
        }

        private void CheckHeld(short version)
        {
            if (version != _completion.Version)
                throw new InvalidOperationException("This add was released: an AddHandle is used only until it is released, and released once.");
        }

        public Position GetResult(short token)
        {
            // A second await (or one before completion) would let go twice: refused before it does.
            if (token != _completion.Version || !_completed)
                throw new InvalidOperationException("An add's result is awaited once, after it completed.");
            try
            {
                return _completion.GetResult(token);
            }
            finally
            {
                Release();
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _completion.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => _completion.OnCompleted(continuation, state, token, flags);
    }

    /// <summary>The ledger adds go to, with its adds in flight in issue order.</summary>
    internal sealed class OpenLedger(LedgerWriter writer, LedgerSlot slot)
    {
        public LedgerWriter Writer { get; } = writer;

        public LedgerSlot Slot { get; } = slot;

        public Queue<PendingAdd> InFlight { get; } = new();

        public long Issued { get; set; }

        public long IssuedBytes { get; set; }

        /// <summary>An add failed: no more adds go to this ledger.</summary>
        public bool Failed { get; set; }

        /// <summary>Completed when <see cref="InFlight"/> becomes empty (set by the rollover that waits for it).</summary>
        public TaskCompletionSource? Drained { get; set; }
    }
}
