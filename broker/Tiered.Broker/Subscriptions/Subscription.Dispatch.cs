using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Entries;
using Tiered.ManagedLedgers;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Subscriptions;

public sealed partial class Subscription
{
    private const int MaxEntriesPerRead = 100;
    private static readonly TimeSpan RetryAfterStorageError = TimeSpan.FromSeconds(1);

    private double _messagesPerEntry = 1;

    private async Task DispatchLoopAsync()
    {
        var wake = _wake.Reader;
        try
        {
            while (await wake.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                wake.TryRead(out _);
                try
                {
                    await DispatchAvailableAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
                {
                    // Storage trouble (or a bug): log it and try again shortly rather than leave the subscription stalled.
                    BrokerLog.DispatchFailed(_logger, Topic, Name, e);
                    await Task.Delay(RetryAfterStorageError, _stop.Token).ConfigureAwait(false);
                    Wake();
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Reads and hands out entries while some consumer has permits and there is something to read: entries waiting in
    /// the replay set first (for Key_Shared, those whose key may go now), then new ones from the cursor.
    /// </summary>
    private async Task DispatchAvailableAsync(CancellationToken cancellationToken)
    {
        var prefetch = 0;
        while (true)
        {
            if (await DispatchDueDelayedAsync(cancellationToken).ConfigureAwait(false))
                continue;
            int want;
            bool keyShared;
            List<Position> replay;
            lock (_lock)
            {
                var permits = AvailablePermits();
                if (permits <= 0)
                {
                    (prefetch, _prefetchEntries) = (_prefetchEntries, 0);
                    break;
                }
                want = (int)Math.Clamp(permits / _messagesPerEntry, 1, MaxEntriesPerRead);
                keyShared = Type == SubscriptionType.KeyShared;
                replay = keyShared ? PickKeySharedReplay(want) : TakeReplay(want);
                // Key_Shared: nothing waiting can go now and the look-ahead is full: an ack, a leave or permits wake the dispatcher.
                if (keyShared && replay.Count == 0 && _redeliver.Count >= MaxKeySharedReplay)
                    return;
            }
            IReadOnlyList<ManagedEntry> entries;
            var fresh = replay.Count == 0;
            if (!fresh)
            {
                entries = await ReadReplayAsync(replay, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // A prefetch still reading the entries this read wants: they are in the cache once it is done.
                await _prefetch.ConfigureAwait(false);
                entries = await Cursor.ReadEntriesAsync(want, cancellationToken).ConfigureAwait(false);
                if (entries.Count == 0)
                {
                    WaitForEntries();
                    return;
                }
                // Every entry asked for was there: a backlog, worth reading ahead while the consumers use these.
                lock (_lock)
                    _prefetchEntries = entries.Count == want && !keyShared ? want : 0;
            }
            // Markers (replicated subscriptions' bookkeeping) are never delivered: acknowledged as they are passed.
            if ((keyShared ? DeliverKeyShared(entries, fresh) : Deliver(entries)) is { } markers)
                await Cursor.AckAsync(markers, cancellationToken).ConfigureAwait(false);
            await DeadLetterDivertedAsync(cancellationToken).ConfigureAwait(false);
        }
        // Out of permits after a read that found a backlog: read ahead what the next grant will take.
        if (prefetch > 0)
            StartPrefetch(prefetch);
    }

    /// <summary>Entries to read ahead once the consumers' permits run out (0: none; the last read found no backlog).</summary>
    private int _prefetchEntries;

    /// <summary>The read-ahead in progress (never faults).</summary>
    private Task _prefetch = Task.CompletedTask;

    /// <summary>
    /// Reads the next <paramref name="entries"/> entries after the cursor's read position into the managed ledger's cache
    /// while the consumers hold all their permits, so that their next grant is answered from memory, not after a storage read.
    /// </summary>
    private void StartPrefetch(int entries)
    {
        if (!_prefetch.IsCompleted)
            return;
        var from = Cursor.ReadPosition;
        // On the thread pool: a read from local storage may complete without yielding, and the dispatcher goes on at once.
        _prefetch = Task.Run(() => PrefetchAsync(from, entries));
    }

    private async Task PrefetchAsync(Position from, int entries)
    {
        try
        {
            await Cursor.Ledger.PrefetchAsync(from, entries, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Only a read-ahead: the dispatcher's own read reports storage trouble (and a stopping subscription reads nothing more).
        }
    }

    /// <summary>Under the lock: takes the first <paramref name="want"/> entries out of the replay set, in position order.</summary>
    private List<Position> TakeReplay(int want)
    {
        if (_redeliver.Count == 0)
            return [];
        List<Position> replay = [.. _redeliver.Take(want)];
        foreach (var position in replay)
            _redeliver.Remove(position);
        return replay;
    }

    private long AvailablePermits()
    {
        if (_consumers.Count == 0)
            return 0;
        if (Type is not (SubscriptionType.Shared or SubscriptionType.KeyShared))
            return _consumers[0].Permits;
        long sum = 0;
        foreach (var consumer in _consumers)
            sum += Math.Max(0, consumer.Permits);
        return sum;
    }

    /// <summary>
    /// The entries at <paramref name="positions"/> (in order) not acknowledged meanwhile. Entries given back together
    /// (by a consumer that left, or held back for want of permits) come back in runs of neighbours: each run is one
    /// read rather than one per entry.
    /// </summary>
    private async Task<IReadOnlyList<ManagedEntry>> ReadReplayAsync(List<Position> positions, CancellationToken cancellationToken)
    {
        await StoreRedeliveryCountsAsync(positions, cancellationToken).ConfigureAwait(false);
        var entries = new List<ManagedEntry>(positions.Count);
        for (var start = 0; start < positions.Count;)
        {
            var end = start;
            while (end + 1 < positions.Count && positions[end + 1].LedgerId == positions[start].LedgerId && positions[end + 1].EntryId == positions[end].EntryId + 1)
                end++;
            var read = await Cursor.Ledger.ReadEntriesAsync(positions[start], end - start + 1, cancellationToken).ConfigureAwait(false);
            foreach (var entry in read)
            {
                if (entry.Position.LedgerId == positions[start].LedgerId && entry.Position.EntryId >= positions[start].EntryId
                    && entry.Position.EntryId <= positions[end].EntryId && !Cursor.IsAcknowledged(entry.Position))
                    entries.Add(entry);
            }
            start = end + 1;
        }
        return entries;
    }

    /// <summary>Hands the entries out; answers the markers among them (null: none), which go to no consumer.</summary>
    private List<AckPosition>? Deliver(IReadOnlyList<ManagedEntry> entries)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        List<AckPosition>? markers = null;
        lock (_lock)
        {
            foreach (var entry in entries)
            {
                var readable = BatchHeader.TryRead(entry.Data.Span, out var header, out _);
                if (readable && header.IsMarker)
                {
                    (markers ??= []).Add(new AckPosition(entry.Position));
                    continue;
                }
                if (DivertToDeadLetter(entry))
                    continue;
                var messages = readable ? header.MessageCount : 1;
                _messagesPerEntry = _messagesPerEntry * 0.9 + messages * 0.1;
                if (HoldOrSkip(entry, messages, now))
                    continue;
                var consumer = NextConsumer();
                if (consumer is null)
                {
                    _redeliver.Add(entry.Position);
                    continue;
                }
                var acked = messages > 1 ? Cursor.AckedBatchIndexes(entry.Position) : [];
                consumer.Permits -= messages;
                consumer.Pending[entry.Position] = new PendingEntry(messages, messages - acked.Count, now);
                consumer.PendingMessages += messages - acked.Count;
                var redeliveries = _redeliveryCounts.GetValueOrDefault(entry.Position);
                var delivery = new Wire.Delivery
                {
                    MessageId = new MessageId { LedgerId = entry.Position.LedgerId, EntryId = entry.Position.EntryId, Partition = Partition, BatchSize = messages },
                    RedeliveryCount = redeliveries,
                    Batch = UnsafeByteOperations.UnsafeWrap(entry.Data),
                };
                if (acked.Count > 0)
                    delivery.AckedBatchIndexes.Add(acked);
                consumer.Outbox.Writer.TryWrite(new Wire.ConsumeResponse { Delivery = delivery });
                Interlocked.Add(ref consumer.MessagesOut, messages);
                Interlocked.Add(ref consumer.BytesOut, entry.Data.Length);
                Interlocked.Add(ref MessagesOut, messages);
                Interlocked.Add(ref BytesOut, entry.Data.Length);
                if (redeliveries > 0)
                {
                    Interlocked.Add(ref consumer.MessagesRedelivered, messages);
                    Interlocked.Add(ref MessagesRedelivered, messages);
                }
                Volatile.Write(ref consumer.LastConsumedMs, now);
                Volatile.Write(ref LastConsumedMs, now);
            }
        }
        return markers;
    }

    /// <summary>The consumer the next entry goes to: the active one, or the next with permits in turn (Shared); null when none may take it.</summary>
    private Consumer? NextConsumer()
    {
        if (_consumers.Count == 0)
            return null;
        if (Type != SubscriptionType.Shared)
            return _consumers[0].Permits > 0 ? _consumers[0] : null;
        for (var tried = 0; tried < _consumers.Count; tried++)
        {
            _nextShared = (_nextShared + 1) % _consumers.Count;
            var consumer = _consumers[_nextShared];
            if (consumer.Permits > 0)
                return consumer;
        }
        return null;
    }

    private void WaitForEntries()
    {
        if (Interlocked.Exchange(ref _waitingForEntries, 1) == 0)
            _ = WaitThenWakeAsync();
    }

    private async Task WaitThenWakeAsync()
    {
        try
        {
            await Cursor.WaitForEntriesAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception e)
        {
            BrokerLog.DispatchFailed(_logger, Topic, Name, e);
        }
        finally
        {
            Volatile.Write(ref _waitingForEntries, 0);
        }
        Wake();
    }
}
