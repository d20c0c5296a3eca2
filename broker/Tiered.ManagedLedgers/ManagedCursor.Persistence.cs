using Google.Protobuf;
using Tiered.ManagedLedgers.Stored;
using Tiered.Metadata;

namespace Tiered.ManagedLedgers;

public sealed partial class ManagedCursor
{
    /// <summary>The version of the stored cursor this instance last wrote (compare-and-set).</summary>
    private long _version;

    /// <summary>Completed by the next store: every change made since the current store started waits for it.</summary>
    private TaskCompletionSource? _nextStore;

    /// <summary>The loop storing changes, one put at a time; completed when idle.</summary>
    private Task _storing = Task.CompletedTask;

    private bool _storeRunning;
    private ManagedLedgerException? _closed;

    /// <summary>Stores of this cursor that succeeded (for tests of group commit).</summary>
    internal long StoreCount { get; private set; }

    /// <summary>
    /// Waits until the state as it is now is stored: joins the next store, which starts as soon as
    /// the one in flight (if any) is done and carries every change made meanwhile (group commit).
    /// </summary>
    private ValueTask StoreAsync(CancellationToken cancellationToken)
    {
        if (!IsDurable)
            return ValueTask.CompletedTask;
        Task stored;
        lock (_lock)
        {
            // Closed between the caller's check and now: nothing stores after CloseAsync returned.
            if (_closed is { } closed)
                return ValueTask.FromException(closed);
            _nextStore ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            stored = _nextStore.Task;
            if (!_storeRunning)
            {
                _storeRunning = true;
                _storing = Task.Run(StoreLoopAsync);
            }
        }
        return new ValueTask(cancellationToken.CanBeCanceled ? stored.WaitAsync(cancellationToken) : stored);
    }

    private async Task StoreLoopAsync()
    {
        while (true)
        {
            TaskCompletionSource batch;
            byte[] value;
            long version;
            long redeliveryChange;
            lock (_lock)
            {
                if (_nextStore is null)
                {
                    _storeRunning = false;
                    return;
                }
                batch = _nextStore;
                _nextStore = null;
                if (_closed is { } closed)
                {
                    batch.TrySetException(closed);
                    continue;
                }
                value = ToStored().ToByteArray();
                version = _version;
                redeliveryChange = _redeliveryStoringChange;
            }
            try
            {
                var stored = await Ledger.Metadata.PutAsync(_key!, value, version).ConfigureAwait(false);
                lock (_lock)
                {
                    _version = stored.Version;
                    StoreCount++;
                    StoredRedeliveryLocked(redeliveryChange);
                }
                batch.TrySetResult();
            }
            catch (MetadataException e) when (e.Code == MetadataErrorCode.BadVersion)
            {
                var fenced = new ManagedLedgerFencedException($"Managed ledger {Ledger.Name}: cursor {Name} was changed by another owner.", e);
                lock (_lock)
                    _closed ??= fenced;
                ManagedLedgerLog.CursorStoreFailed(Ledger.Logger, Ledger.Name, Name, e);
                batch.TrySetException(fenced);
                Ledger.Fence(new ManagedLedgerFencedException(fenced.Message, e));
            }
            catch (Exception e)
            {
                // The state stays in memory; the next acknowledgement stores it again.
                ManagedLedgerLog.CursorStoreFailed(Ledger.Logger, Ledger.Name, Name, e);
                batch.TrySetException(new ManagedLedgerException($"Managed ledger {Ledger.Name}: cursor {Name} could not be stored: {e.Message}", e));
            }
        }
    }

    /// <summary>Under the lock: the stored form of the acknowledgement state.</summary>
    private CursorInfo ToStored()
    {
        var info = new CursorInfo
        {
            MarkDeleteLedgerId = _markDelete.LedgerId,
            MarkDeleteEntryId = _markDelete.EntryId,
            LastActiveMs = Ledger.Time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        foreach (var (key, value) in _properties)
            info.Properties[key] = value;
        foreach (var range in _acked.Ranges)
            info.AckedRanges.Add(new Stored.AckedRange { LedgerId = range.LedgerId, FirstEntryId = range.First, LastEntryId = range.Last });
        foreach (var (position, batch) in _batches)
        {
            var stored = new BatchAcks { LedgerId = position.LedgerId, EntryId = position.EntryId, BatchSize = batch.BatchSize };
            stored.AckedBits.AddRange(batch.Bits);
            info.BatchAcks.Add(stored);
        }
        StoreRedeliveryLocked(info);
        return info;
    }

    /// <summary>Waits for the store in flight and the one queued behind it, if any.</summary>
    internal async Task FlushAsync()
    {
        Task storing;
        lock (_lock)
            storing = _storing;
        await storing.ConfigureAwait(false);
    }

    /// <summary>Refuses further changes (the cursor was deleted or its ledger closed) after the pending stores are done.</summary>
    /// <remarks>
    /// Closed under the lock only once no store runs, and <see cref="StoreAsync"/> checks under the
    /// same lock: an acknowledgement racing the close is either stored before this returns or
    /// refused — never stored later, after the next owner of the topic read the cursor.
    /// </remarks>
    internal async Task CloseAsync()
    {
        SetInactive();
        while (true)
        {
            Task storing;
            lock (_lock)
            {
                if (!_storeRunning)
                {
                    _closed ??= new ManagedLedgerClosedException($"Managed ledger {Ledger.Name}: cursor {Name} is closed.");
                    return;
                }
                storing = _storing;
            }
            await storing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void ThrowIfClosed()
    {
        Ledger.ThrowIfStopped();
        lock (_lock)
        {
            if (_closed is { } closed)
                throw closed is ManagedLedgerFencedException ? new ManagedLedgerFencedException(closed.Message, closed.InnerException) : new ManagedLedgerClosedException(closed.Message);
        }
    }
}
