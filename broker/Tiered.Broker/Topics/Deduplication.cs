using System.Text;
using Microsoft.Extensions.Logging;
using Tiered.Broker.Entries;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>
/// Producer de-duplication for one topic: per producer, the highest sequence id handed to the ledger. A batch whose
/// sequence ids are all at or below it was stored already — a resend after a lost receipt — so it is not stored
/// again, and its receipt carries the original's position (the original add's own, when it is still in flight).
/// </summary>
/// <remarks>
/// <para>A producer is keyed by its name, or by origin cluster and name for a batch geo-replication brought
/// (<see cref="KeyOf"/>), so sequences of different producers are never compared (the Pulsar bugs #20128 and #23697
/// came from one replicator sequence mixing many producers).</para>
/// <para>Durable: every <see cref="SnapshotInterval"/> stored entries, at each new ledger, at each maintenance pass and
/// when the topic closes, the highest stored id of each producer is written as the properties of the topic's <see cref="CursorName"/>
/// cursor, whose mark-delete position trails them by up to <see cref="RecentCapacity"/> entries. Opening the topic reads that snapshot and replays
/// the entries after the position (read from the ledger, which a new owner has recovered, so a batch whose receipt
/// was lost in a crash is found; the ids of the trailing stretch are at or below the snapshot's, and give back the
/// positions of the last batches). The cursor keeps those entries from being trimmed, as a subscription would.</para>
/// <para>Every method but <see cref="OpenAsync"/> and <see cref="CloseAsync"/> runs under the topic's publish lock:
/// nothing here awaits, and the publish path allocates nothing (struct queues, holds on the ledger's pooled adds).</para>
/// </remarks>
internal sealed class Deduplication
{
    /// <summary>The system cursor holding the snapshot; "tiered." names are reserved, never subscriptions.</summary>
    public const string CursorName = "tiered.dedup";

    /// <summary>Stored entries between snapshots (Pulsar's brokerDeduplicationEntriesInterval): the most replayed on open.</summary>
    internal const int SnapshotInterval = 1000;

    /// <summary>Positions remembered per producer, to answer a resend with its original message id.</summary>
    internal const int RecentCapacity = 1024;

    /// <summary>A producer not heard from for this long is forgotten at the next snapshot (Pulsar's default too).</summary>
    internal static readonly TimeSpan Inactivity = TimeSpan.FromHours(6);

    /// <summary>The answer to a resend the broker no longer remembers the position of (Pulsar's).</summary>
    public static readonly Position UnknownPosition = new(-1, -1);

    private readonly Dictionary<string, Producer> _producers = new(StringComparer.Ordinal);
    private readonly Queue<InFlight> _inFlight = new();
    private readonly ManagedCursor? _cursor;
    private readonly Lock _lock;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Position _lastStored;
    private long _snapshotLedger;
    private int _sinceSnapshot;
    private Task _snapshotting = Task.CompletedTask;

    /// <param name="cursor">Where snapshots go; null (unit tests of the table) keeps none.</param>
    /// <param name="publishing">The topic's publish lock, which every call but <see cref="OpenAsync"/> and <see cref="CloseAsync"/> holds.</param>
    internal Deduplication(ManagedCursor? cursor, Lock publishing, TimeProvider time, ILogger logger)
    {
        (_cursor, _lock, _time, _logger, _lastStored) = (cursor, publishing, time, logger, cursor?.MarkDeletePosition ?? UnknownPosition);
        _snapshotLedger = _lastStored.LedgerId;
    }

    public enum Verdict
    {
        /// <summary>Not seen: store it, then <see cref="Pushed"/>.</summary>
        New,

        /// <summary>Stored (or being stored) already: answer with the original's position.</summary>
        Duplicate,

        /// <summary>Some of its sequence ids were stored and some not: a producer bug; refuse it.</summary>
        Overlap,

        /// <summary>An earlier batch of the producer failed and was not sent again yet: refuse it (retriable), so that the producer resends in order.</summary>
        ResendEarlier,
    }

    /// <summary>The producer key: its name, or origin cluster and name for a replicated batch.</summary>
    public static string KeyOf(string producerName, ReadOnlySpan<byte> replicatedFrom)
        => replicatedFrom.IsEmpty ? producerName : $"{Encoding.UTF8.GetString(replicatedFrom)}\u0000{producerName}";

    /// <summary>Opens (or creates, at the end of the log) the topic's dedup cursor and rebuilds the table: its snapshot, then the entries after it.</summary>
    public static async Task<Deduplication> OpenAsync(ManagedLedger ledger, Lock publishing, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var cursor = await ledger.OpenCursorAsync(CursorName, InitialPosition.Latest, cancellationToken).ConfigureAwait(false);
        var dedup = new Deduplication(cursor, publishing, time, logger);
        var now = time.GetTimestamp();
        foreach (var (key, sequence) in cursor.Properties)
            dedup.Get(key, now).Restore(sequence, null);
        var next = ledger.GetNextPosition(cursor.MarkDeletePosition);
        // Ledgers only in the object store are not replayed (a crash may have left the snapshot behind them): loading a
        // topic must not wait for an object store, and a producer resends batches of its last moments, not of those.
        var offloaded = ledger.Ledgers.Where(l => l.BookieDeleted && l.LedgerId >= next.LedgerId).Select(l => l.LedgerId).DefaultIfEmpty(-1).Max();
        if (offloaded >= 0)
            next = ledger.GetNextPosition(new Position(offloaded, long.MaxValue - 1));
        var replayed = 0;
        while (true)
        {
            var entries = await ledger.ReadEntriesAsync(next, 256, cancellationToken).ConfigureAwait(false);
            if (entries.Count == 0)
                break;
            foreach (var entry in entries)
            {
                if (BatchHeader.TryRead(entry.Data.Span, out var header, out _) && !header.IsMarker && header.ProducerName.End.Value > header.ProducerName.Start.Value)
                {
                    var data = entry.Data.Span;
                    var key = KeyOf(Encoding.UTF8.GetString(data[header.ProducerName]), data[header.ReplicatedFrom]);
                    dedup.Get(key, now).Restore((long)header.LastSequenceId, entry.Position);
                }
                dedup._lastStored = entry.Position;
                replayed++;
            }
            next = ledger.GetNextPosition(entries[^1].Position);
        }
        dedup._sinceSnapshot = replayed;
        BrokerLog.DeduplicationRestored(logger, ledger.Name, dedup._producers.Count, cursor.MarkDeletePosition.ToString(), replayed);
        return dedup;
    }

    /// <summary>
    /// Whether a batch of sequence ids <paramref name="first"/>..<paramref name="last"/> from <paramref name="key"/> is new;
    /// for a duplicate, <paramref name="original"/> is the original's position (or the add storing it).
    /// </summary>
    public Verdict Check(string key, long first, long last, out ValueTask<Position> original)
    {
        original = default;
        var producer = Get(key, _time.GetTimestamp());
        if (producer.Failed is { Count: > 0 } failed)
        {
            // A batch whose add failed was not stored, whatever later batches of the producer did: its resend is new
            // (Pulsar's #26113 lost such a batch by taking its resend for a duplicate of the later ones).
            // Loops, not lambdas: a lambda capturing first and last would allocate its closure on every call.
            var earliest = long.MaxValue;
            for (var i = 0; i < failed.Count; i++)
            {
                if (failed[i].First == first && failed[i].Last == last)
                {
                    failed.RemoveAt(i);
                    return Verdict.New;
                }
                earliest = Math.Min(earliest, failed[i].First);
            }
            if (first > earliest)
                return Verdict.ResendEarlier;
        }
        if (first > producer.Highest)
            return Verdict.New;
        if (last > producer.Highest)
            return Verdict.Overlap;
        // Still being stored: answer when the original is.
        foreach (var pending in _inFlight)
        {
            if (ReferenceEquals(pending.Producer, producer) && pending.Last == last)
            {
                // A failed one answers its failure again; once taken in (Drain), its resend is new. A task is made
                // here only (one per add waited on this way, shared): the common add has none.
                original = pending.Added.WaitAsync();
                return Verdict.Duplicate;
            }
        }
        original = new ValueTask<Position>(producer.Find(last) ?? UnknownPosition);
        return Verdict.Duplicate;
    }

    /// <summary>A new batch (<see cref="Verdict.New"/>) was handed to the ledger; <paramref name="added"/> is held until <see cref="Drain"/> takes it in.</summary>
    public void Pushed(string key, long first, long last, AddHandle added)
    {
        var producer = _producers[key];
        producer.Highest = Math.Max(producer.Highest, last);
        _inFlight.Enqueue(new InFlight(producer, first, last, added));
    }

    /// <summary>The highest sequence id handed to the ledger for <paramref name="key"/>; -1 for a producer never seen.</summary>
    public long LastSequenceId(string key) => _producers.TryGetValue(key, out var producer) ? producer.Highest : -1;

    /// <summary>
    /// Takes in the adds that completed, in order: a stored batch becomes the producer's highest stored id and a
    /// remembered position; a failed one lets its sequence ids be sent again. Starts a snapshot every
    /// <see cref="SnapshotInterval"/> stored entries.
    /// </summary>
    public void Drain()
    {
        while (_inFlight.TryPeek(out var head) && head.Added.TryGetOutcome(out var position, out var error))
        {
            _inFlight.Dequeue();
            head.Added.Release();
            if (error is null)
            {
                head.Producer.Stored(head.Last, position);
                _lastStored = position;
                _sinceSnapshot++;
            }
            else
            {
                // Not stored: its resend must be taken as new, even if later batches of the producer get stored.
                (head.Producer.Failed ??= []).Add((head.First, head.Last));
            }
        }
        // Also at each new ledger: the cursor then lets the closed ones go (retention, offload), and a replay never
        // has to read a ledger that was offloaded (and whose object store may be down).
        if (SnapshotDue && _snapshotting.IsCompleted)
            _snapshotting = SnapshotAsync(TakeSnapshot());
    }

    private bool SnapshotDue => _sinceSnapshot >= SnapshotInterval || (_sinceSnapshot > 0 && _lastStored.LedgerId != _snapshotLedger);

    /// <summary>
    /// Under the lock: starts a snapshot of everything stored so far, unless nothing changed since the last one or
    /// one is still being stored; returns the snapshot in flight (if any) to wait for outside the lock.
    /// </summary>
    public Task SnapshotNow()
    {
        Drain();
        if (_sinceSnapshot > 0 && _snapshotting.IsCompleted)
            _snapshotting = SnapshotAsync(TakeSnapshot());
        return _snapshotting;
    }

    /// <summary>Stores a snapshot covering every stored batch (the topic is closing: call after its last add completed).</summary>
    public async Task CloseAsync()
    {
        Task snapshot;
        lock (_lock)
            snapshot = _snapshotting;
        await snapshot.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        lock (_lock)
            snapshot = SnapshotNow();
        await snapshot.ConfigureAwait(false);
    }

    /// <summary>Under the lock: the stored state to snapshot, forgetting producers long inactive.</summary>
    private (Position At, Dictionary<string, long> Sequences) TakeSnapshot()
    {
        var now = _time.GetTimestamp();
        var sequences = new Dictionary<string, long>(_producers.Count, StringComparer.Ordinal);
        List<string>? inactive = null;
        foreach (var (key, producer) in _producers)
        {
            if (producer.HighestStored < 0)
                continue;
            if (_time.GetElapsedTime(producer.LastSeen, now) > Inactivity && producer.Highest == producer.HighestStored)
                (inactive ??= []).Add(key);
            else
                sequences[key] = producer.HighestStored;
        }
        foreach (var key in inactive ?? [])
            _producers.Remove(key);
        _sinceSnapshot = 0;
        _snapshotLedger = _lastStored.LedgerId;
        // The cursor trails the ids by up to RecentCapacity entries (within the current ledger): replaying from an
        // earlier position only re-applies ids at or below them, and gives back the positions of the last batches,
        // so that a producer resending after a handover or a crash is answered with its original message ids.
        return (_lastStored with { EntryId = Math.Max(-1, _lastStored.EntryId - RecentCapacity) }, sequences);
    }

    private async Task SnapshotAsync((Position At, Dictionary<string, long> Sequences) snapshot)
    {
        if (_cursor is null)
            return;
        try
        {
            await _cursor.MarkDeleteAsync(snapshot.At, snapshot.Sequences).ConfigureAwait(false);
        }
        catch (ManagedLedgerException e)
        {
            // The next snapshot tries again; until then a restart replays a little more.
            BrokerLog.DeduplicationSnapshotFailed(_logger, _cursor.Ledger.Name, e);
            return;
        }
        // One came due while this one was stored (a new ledger, say): take it now rather than at the next publish.
        lock (_lock)
        {
            if (SnapshotDue)
                _snapshotting = SnapshotAsync(TakeSnapshot());
        }
    }

    private Producer Get(string key, long now)
    {
        if (!_producers.TryGetValue(key, out var producer))
            _producers[key] = producer = new Producer();
        producer.LastSeen = now;
        return producer;
    }

    private readonly record struct InFlight(Producer Producer, long First, long Last, AddHandle Added);

    /// <summary>One producer's sequence ids and the positions of its last batches.</summary>
    private sealed class Producer
    {
        private (long Last, Position Position)[] _recent = [];
        private int _next;
        private int _count;

        /// <summary>Highest sequence id handed to the ledger.</summary>
        public long Highest = -1;

        /// <summary>Highest sequence id the ledger confirmed.</summary>
        public long HighestStored = -1;

        public long LastSeen;

        /// <summary>Batches whose add failed and that were not sent again yet (rare: storage failures).</summary>
        public List<(long First, long Last)>? Failed;

        public void Stored(long last, Position position)
        {
            HighestStored = Math.Max(HighestStored, last);
            Highest = Math.Max(Highest, last);
            Remember(last, position);
        }

        /// <summary>From the snapshot (no position) or a replayed entry.</summary>
        public void Restore(long last, Position? position)
        {
            HighestStored = Highest = Math.Max(Highest, last);
            if (position is { } at)
                Remember(last, at);
        }

        public Position? Find(long last)
        {
            for (var i = 1; i <= _count; i++)
            {
                var (seq, position) = _recent[(_next - i + _recent.Length) % _recent.Length];
                if (seq == last)
                    return position;
                if (seq < last)
                    break;
            }
            return null;
        }

        private void Remember(long last, Position position)
        {
            if (_count == _recent.Length && _recent.Length < RecentCapacity)
            {
                // Grow (only producers with many batches in flight get a long memory), keeping the order.
                var grown = new (long, Position)[Math.Max(8, _recent.Length * 2)];
                for (var i = 0; i < _count; i++)
                    grown[i] = _recent[(_next - _count + i + _recent.Length) % _recent.Length];
                _recent = grown;
                _next = _count;
            }
            _recent[_next] = (last, position);
            _next = (_next + 1) % _recent.Length;
            _count = Math.Min(_count + 1, _recent.Length);
        }
    }
}
