using Tiered.Broker.Entries;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>
/// What a producer meets while one of its topic's backlog quotas with a producer policy is exceeded: its batches held
/// (<see cref="Hold"/>, producer_request_hold) or refused with <see cref="Message"/> (producer_exception).
/// </summary>
/// <param name="Type">destination_storage or message_age: the quota exceeded.</param>
public sealed record BacklogQuotaBreach(string Type, string Policy, bool Hold, string Message);

/// <summary>A topic's backlog quotas as the last check applied them, for stats; -1: not set, or not measured.</summary>
/// <param name="OldestBacklogMessageAgeSeconds">Age of the oldest message the slowest durable subscription has not acknowledged, measured only with a message_age quota.</param>
/// <param name="TimeExceeded">The message_age quota was exceeded at the check (the size quota is compared live, in stats).</param>
public sealed record BacklogQuotaStatus(long LimitSize, long LimitTime, long OldestBacklogMessageAgeSeconds, bool TimeExceeded)
{
    public static readonly BacklogQuotaStatus None = new(-1, -1, -1, false);
}

/// <summary>
/// A batch sent while a producer_request_hold quota is exceeded: not stored and not answered until the backlog is back
/// under the quota, then stored in the order held. Abandoned (cancelled) when its producer's stream ends first.
/// </summary>
internal sealed class HeldSend(ReadOnlyMemory<byte> batch, int messages, string key, long firstSequenceId, long lastSequenceId, ProducerInfo producer)
{
    private readonly TaskCompletionSource<Position> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenRegistration _abandon;

    public ReadOnlyMemory<byte> Batch { get; } = batch;
    public int Messages { get; } = messages;
    public string Key { get; } = key;
    public long FirstSequenceId { get; } = firstSequenceId;
    public long LastSequenceId { get; } = lastSequenceId;
    public ProducerInfo Producer { get; } = producer;

    /// <summary>Completes with the position once stored (the original's for a duplicate); cancelled when abandoned.</summary>
    public Task<Position> Stored => _completion.Task;

    /// <summary>De-duplication found it stored already; set before <see cref="Stored"/> completes.</summary>
    public bool Duplicate { get; set; }

    public void AbandonWith(CancellationToken token)
        => _abandon = token.Register(static state => ((HeldSend)state!)._completion.TrySetCanceled(), this);

    /// <summary>Completes <see cref="Stored"/> with what the ledger answers for it.</summary>
    public void Forward(ValueTask<Position> stored)
    {
        _abandon.Dispose();
        if (stored.IsCompletedSuccessfully)
            _completion.TrySetResult(stored.Result);
        else
            _ = ForwardAsync(stored);
    }

    public void Fail(Exception e)
    {
        _abandon.Dispose();
        _completion.TrySetException(e);
    }

    private async Task ForwardAsync(ValueTask<Position> stored)
    {
        try
        {
            _completion.TrySetResult(await stored.ConfigureAwait(false));
        }
        catch (Exception e)
        {
            _completion.TrySetException(e);
        }
    }
}

/// <summary>
/// Backlog quotas on the topic: the state the broker's quota check (<see cref="TopicRegistry.CheckBacklogQuotasAsync"/>)
/// sets, the one field a send reads (<see cref="BacklogQuotaBreach"/>: null while no producer policy applies), and the
/// queue of held sends. The topic's backlog is what its slowest durable subscription has not acknowledged; the broker's
/// own cursors (replicators, de-duplication) are not subscriptions and do not count, as Pulsar leaves replicator cursors out.
/// </summary>
public sealed partial class Topic
{
    private readonly Lock _holding = new();
    private readonly Queue<HeldSend> _held = new();
    private BacklogQuotaBreach? _quotaBreach;
    private OldestUnacknowledged? _oldest;

    private sealed record OldestUnacknowledged(Position Position, long PublishTimeMs);

    /// <summary>Null unless a quota with a producer policy is exceeded: one volatile read per send.</summary>
    public BacklogQuotaBreach? BacklogQuotaBreach => Volatile.Read(ref _quotaBreach);

    /// <summary>The quotas as the last check applied them.</summary>
    public BacklogQuotaStatus BacklogQuotaStatus { get; private set; } = BacklogQuotaStatus.None;

    /// <summary>Batches held by producer_request_hold now.</summary>
    public int HeldBatches
    {
        get
        {
            lock (_holding)
                return _held.Count;
        }
    }

    /// <summary>
    /// Holds a batch while a producer_request_hold quota is exceeded (or batches held before it still wait), else stores
    /// it at once, as <see cref="PublishAsync"/>. The hold ends, and the batch is stored, when <paramref name="abandoned"/> fires first: never.
    /// </summary>
    internal HeldSend PublishOrHold(ReadOnlyMemory<byte> batch, int messages, string key, long firstSequenceId, long lastSequenceId, ProducerInfo producer,
        CancellationToken abandoned)
    {
        var send = new HeldSend(batch, messages, key, firstSequenceId, lastSequenceId, producer);
        lock (_holding)
        {
            if (_held.Count > 0 || Volatile.Read(ref _quotaBreach) is { Hold: true })
            {
                send.AbandonWith(abandoned);
                _held.Enqueue(send);
                return send;
            }
            Store(send);
        }
        return send;
    }

    /// <summary>
    /// Sets what producers meet from now on and the status stats show. Unless the breach holds, the held batches are
    /// stored first, in order, and only then is the breach replaced, so a producer's next batch cannot pass its held ones.
    /// </summary>
    /// <returns>How many held batches were released.</returns>
    internal int ApplyBacklogQuota(BacklogQuotaStatus status, BacklogQuotaBreach? breach)
    {
        BacklogQuotaStatus = status;
        lock (_holding)
        {
            var released = 0;
            if (breach is not { Hold: true })
            {
                while (_held.TryDequeue(out var send))
                {
                    Store(send);
                    released++;
                }
            }
            Volatile.Write(ref _quotaBreach, breach);
            return released;
        }
    }

    /// <summary>Under <see cref="_holding"/>: hands a held batch to the ledger (unless its producer went), counting it for its producer.</summary>
    private void Store(HeldSend send)
    {
        if (send.Stored.IsCompleted)
            return;
        ValueTask<Position> stored;
        try
        {
            stored = PublishAsync(send.Batch, send.Messages, send.Key, send.FirstSequenceId, send.LastSequenceId, out var duplicate, CancellationToken.None);
            send.Duplicate = duplicate;
        }
        catch (Exception e)
        {
            send.Fail(e);
            return;
        }
        if (!send.Duplicate)
        {
            Interlocked.Add(ref send.Producer.MessagesIn, send.Messages);
            Interlocked.Add(ref send.Producer.BytesIn, send.Batch.Length);
        }
        send.Forward(stored);
    }

    /// <summary>The slowest durable subscription's mark-delete position; null without durable subscriptions.</summary>
    private Position? SlowestMarkDelete()
    {
        Position? oldest = null;
        foreach (var subscription in _subscriptions.Values)
        {
            if (!subscription.IsDurable)
                continue;
            var markDelete = subscription.Cursor.MarkDeletePosition;
            if (oldest is null || markDelete < oldest.Value)
                oldest = markDelete;
        }
        return oldest;
    }

    /// <summary>
    /// Milliseconds since the oldest message the slowest durable subscription has not acknowledged was published (0 when
    /// nothing is unacknowledged). Reads that one entry only when the slowest position moved since the last call.
    /// </summary>
    internal async ValueTask<long> OldestBacklogAgeMsAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (SlowestMarkDelete() is not { } markDelete)
            return 0;
        var next = Ledger.GetNextPosition(markDelete);
        if (next > Ledger.LastConfirmedEntry)
            return 0;
        var oldest = Volatile.Read(ref _oldest);
        if (oldest is null || oldest.Position != next)
        {
            var entries = await Ledger.ReadEntriesAsync(next, 1, cancellationToken).ConfigureAwait(false);
            if (entries.Count == 0)
                return 0;
            var publishTime = BatchHeader.TryRead(entries[0].Data.Span, out var header, out _) && header.PublishTimeMs > 0 ? header.PublishTimeMs : now;
            Volatile.Write(ref _oldest, oldest = new OldestUnacknowledged(next, publishTime));
        }
        return Math.Max(0, now - oldest.PublishTimeMs);
    }

    /// <summary>
    /// The mark-delete position every durable subscription must have reached for the backlog to be at most
    /// <paramref name="limitBytes"/> (bytes estimated as in <see cref="EstimatedBacklogBytes"/>); null when all of the log fits.
    /// </summary>
    internal Position? SizeEvictionTarget(long limitBytes)
    {
        var ledgers = Ledger.Ledgers;
        var last = Ledger.LastConfirmedEntry;
        double kept = 0;
        for (var i = ledgers.Count - 1; i >= 0; i--)
        {
            var ledger = ledgers[i];
            if (ledger.LedgerId > last.LedgerId || ledger.Entries <= 0)
                continue;
            var entries = ledger.LedgerId == last.LedgerId ? Math.Min(last.EntryId + 1, ledger.Entries) : ledger.Entries;
            if (entries <= 0)
                continue;
            var perEntry = (double)ledger.Size / ledger.Entries;
            if (kept + perEntry * entries <= limitBytes)
            {
                kept += perEntry * entries;
                continue;
            }
            var fit = perEntry <= 0 ? entries : (long)Math.Floor((limitBytes - kept) / perEntry);
            return new Position(ledger.LedgerId, entries - Math.Max(0, fit) - 1);
        }
        return null;
    }
}
