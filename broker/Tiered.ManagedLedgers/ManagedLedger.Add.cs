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
    /// of the calls. The entry is not copied: it is sent to the bookies and kept in the entry cache
    /// by reference, so it must not change afterwards (the broker hands over the bytes of the
    /// produce request it parsed, which nothing writes to again).
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
    {
        if (data.IsEmpty)
            throw new ArgumentException($"Managed ledger {Name}: an entry must not be empty.", nameof(data));
        if (data.Length > LedgerClientOptions.MaxEntryBytes)
            throw new ArgumentException($"Managed ledger {Name}: an entry of {data.Length} bytes is larger than the {LedgerClientOptions.MaxEntryBytes} byte limit.", nameof(data));
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<Position>(cancellationToken);
        // A large payload's CRC is computed here, before any lock: the writer only combines it with the entry's header.
        var add = new PendingAdd(this, EntryPayload.Of(data));
        lock (_lock)
        {
            if (_terminal is { } terminal)
                return ValueTask.FromException<Position>(Copy(terminal));
            if (_closing)
                return ValueTask.FromException<Position>(new ManagedLedgerClosedException($"Managed ledger {Name} is closing."));
            if (expectedFailures >= 0 && _addFailures != expectedFailures)
                return ValueTask.FromException<Position>(new ManagedLedgerException(
                    $"Managed ledger {Name}: an earlier add failed while this entry was on its way; it was not stored. Send again from the first one that failed."));
            _pendingAdds++;
            _queued.Enqueue(add);
            SendQueuedAdds();
        }
        // A task, not a pooled source: the broker keeps it (de-duplication answers a resent batch with it).
        return new ValueTask<Position>(add.Task);
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
                    _cache.Put(position, head.Data);
                    confirmed = true;
                    head.TrySetResult(position);
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
                    head.TrySetException(Copy(fenced));
                }
                else
                {
                    head.TrySetException(new ManagedLedgerException($"Managed ledger {Name}: the entry could not be stored in ledger {ledger.Slot.LedgerId}: {head.Error.Message}", head.Error));
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
            add.TrySetException(error());
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
    /// An add on its way: its payload (kept for the cache), its caller's completion (this object is
    /// the task's source) and the writer's callback (this object too): one object per add.
    /// </summary>
    private sealed class PendingAdd(ManagedLedger owner, EntryPayload payload)
        : TaskCompletionSource<Position>(TaskCreationOptions.RunContinuationsAsynchronously), ILedgerAddCallback
    {
        public EntryPayload Payload { get; } = payload;

        public ReadOnlyMemory<byte> Data => Payload.Bytes;

        /// <summary>The ledger it was sent to.</summary>
        public OpenLedger? Ledger { get; set; }

        public bool Done { get; set; }

        public long EntryId { get; set; }

        public Exception? Error { get; set; }

        public void AddCompleted(long entryId, Exception? error) => owner.OnAddCompleted(this, entryId, error);
    }

    /// <summary>The ledger adds go to, with its adds in flight in issue order.</summary>
    private sealed class OpenLedger(LedgerWriter writer, LedgerSlot slot)
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
