using Tiered.ManagedLedgers;
using Tiered.Proto.Coding;

namespace Tiered.Broker.Subscriptions.Delayed;

/// <summary>
/// The entries a Shared or Key_Shared subscription holds until their deliver_at_ms, in bounded memory. Entries are
/// indexed in time slots of <see cref="TickMs"/>; a slot keeps its entries' positions as varints of their
/// differences (a few bytes an entry, no object per entry). Past <see cref="MaxIndexBytes"/> the farthest slots are
/// spilled: only a summary (slot range, first and last position, counts) is kept, and when its first slot is due
/// the subscription re-reads that part of the log (<see cref="TryTakeDueSummary"/>) to find the entries again.
/// Nothing is stored: the entries stay unacknowledged in the log, so after a restart the cursor re-reads them and
/// the tracker is rebuilt (see docs/messaging.md, "Delayed delivery").
/// </summary>
/// <remarks>
/// Invariant: in-memory slots all lie before the spill horizon and summaries partition the slots from the horizon on
/// (the last one open-ended), so one entry is in exactly one place. Not thread-safe: the subscription calls it under
/// its lock.
/// </remarks>
public sealed class DelayedDeliveryTracker
{
    /// <summary>Pulsar's delayedDeliveryTickTimeMillis is 1 s; a finer slot keeps deliveries closer to their time.</summary>
    public const long DefaultTickMs = 100;

    public const long DefaultMaxIndexBytes = 32L * 1024 * 1024;

    /// <summary>Summaries beyond which the two farthest are merged (each costs <see cref="SummaryOverhead"/> bytes; at most a quarter of the cap).</summary>
    public const int DefaultMaxSummaries = 4096;

    /// <summary>
    /// Estimated bytes of a slot besides its position bytes: the object (about 104), its array's header (24), the
    /// sorted set's node (48) and the dictionary's entry with its spare capacity (about 60); the memory benchmark
    /// (bench/delayed-memory.sh) checks this against the managed heap.
    /// </summary>
    internal const int BucketOverhead = 240;

    internal const int SummaryOverhead = 96;

    private const int InitialBucketBytes = 16;

    private readonly Dictionary<long, Bucket> _buckets = [];
    private readonly SortedSet<long> _slots = [];
    private readonly List<SpilledRange> _summaries = [];
    private long _horizon = long.MaxValue;

    public DelayedDeliveryTracker(long tickMs = DefaultTickMs, long maxIndexBytes = DefaultMaxIndexBytes, int maxSummaries = DefaultMaxSummaries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tickMs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSummaries, 2);
        // Summaries take at most a quarter of the cap, so that the whole index stays within it.
        (TickMs, MaxIndexBytes, MaxSummaries) = (tickMs, maxIndexBytes, (int)Math.Clamp(maxIndexBytes / 4 / SummaryOverhead, 2, maxSummaries));
    }

    public long TickMs { get; }

    public long MaxIndexBytes { get; }

    public int MaxSummaries { get; }

    /// <summary>Messages held (Pulsar's msgDelayed), in memory and spilled.</summary>
    public long Messages { get; private set; }

    /// <summary>Entries held, in memory and spilled.</summary>
    public long Entries { get; private set; }

    /// <summary>The index's memory by its own accounting (Pulsar's delayedMessageIndexSizeInBytes).</summary>
    public long IndexBytes { get; private set; }

    /// <summary>Entries held only as spilled summaries (found again by re-reading the log).</summary>
    public long SpilledEntries { get; private set; }

    public int SummaryCount => _summaries.Count;

    public int SlotCount => _buckets.Count;

    public bool IsEmpty => Entries == 0;

    /// <summary>When the earliest held entries are due, ms since the epoch; <see cref="long.MaxValue"/> when none is held.</summary>
    public long NextDueMs
    {
        get
        {
            var due = long.MaxValue;
            if (_slots.Count > 0)
                due = _buckets[_slots.Min].MaxDeliverAt;
            if (_summaries.Count > 0)
                due = Math.Min(due, SlotEnd(_summaries[0].FirstSlot));
            return due;
        }
    }

    /// <summary>Holds an entry until <paramref name="deliverAtMs"/> (positive).</summary>
    public void Add(Position position, long deliverAtMs, int messages)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(deliverAtMs, 1);
        var slot = deliverAtMs / TickMs;
        Entries++;
        Messages += messages;
        if (slot >= _horizon)
        {
            var index = SummaryIndexOf(slot);
            var summary = _summaries[index];
            _summaries[index] = summary with
            {
                First = Min(summary.First, position), Last = Max(summary.Last, position),
                Entries = summary.Entries + 1, Messages = summary.Messages + messages,
            };
            SpilledEntries++;
            return;
        }
        if (!_buckets.TryGetValue(slot, out var bucket))
        {
            bucket = new Bucket(slot);
            _buckets[slot] = bucket;
            _slots.Add(slot);
            IndexBytes += BucketOverhead + bucket.Data.Length;
        }
        var before = bucket.Data.Length;
        bucket.Append(position, deliverAtMs, messages);
        IndexBytes += bucket.Data.Length - before;
        if (IndexBytes > MaxIndexBytes)
            Spill();
    }

    /// <summary>
    /// Moves the positions of the in-memory slots due at <paramref name="nowMs"/> into <paramref name="due"/>, whole
    /// slots at a time, until it holds at least <paramref name="limit"/>; answers how many it moved.
    /// </summary>
    public int TakeDue(long nowMs, ICollection<Position> due, int limit)
    {
        var moved = 0;
        while (_slots.Count > 0 && due.Count < limit)
        {
            var slot = _slots.Min;
            var bucket = _buckets[slot];
            if (bucket.MaxDeliverAt > nowMs)
                break;
            _slots.Remove(slot);
            _buckets.Remove(slot);
            IndexBytes -= BucketOverhead + bucket.Data.Length;
            Entries -= bucket.Entries;
            Messages -= bucket.Messages;
            moved += bucket.Decode(due);
        }
        return moved;
    }

    /// <summary>
    /// Takes out the nearest spilled summary once its first slot is due: the caller re-reads the log from its first
    /// to its last position and, for each entry not acknowledged, not held by a consumer and whose deliver_at_ms
    /// falls in <see cref="SpilledRange.FirstSlot"/>..<see cref="SpilledRange.LastSlot"/>, delivers it when due or
    /// <see cref="Add"/>s it again.
    /// </summary>
    public bool TryTakeDueSummary(long nowMs, out SpilledRange range)
    {
        range = default;
        if (_summaries.Count == 0 || SlotEnd(_summaries[0].FirstSlot) > nowMs)
            return false;
        range = _summaries[0];
        _summaries.RemoveAt(0);
        _horizon = _summaries.Count > 0 ? _summaries[0].FirstSlot : long.MaxValue;
        IndexBytes -= SummaryOverhead;
        Entries -= range.Entries;
        Messages -= range.Messages;
        SpilledEntries -= range.Entries;
        return true;
    }

    /// <summary>Whether <paramref name="deliverAtMs"/> falls in the summary's slots.</summary>
    public bool Covers(in SpilledRange range, long deliverAtMs)
    {
        var slot = deliverAtMs / TickMs;
        return slot >= range.FirstSlot && slot <= range.LastSlot;
    }

    /// <summary>Forgets everything (a reset, a change of subscription type, a rebuild).</summary>
    public void Clear()
    {
        _buckets.Clear();
        _slots.Clear();
        _summaries.Clear();
        _horizon = long.MaxValue;
        Entries = Messages = IndexBytes = SpilledEntries = 0;
    }

    private long SlotEnd(long slot) => slot >= long.MaxValue / TickMs ? long.MaxValue : (slot + 1) * TickMs;

    /// <summary>The summary whose slots hold <paramref name="slot"/> (at or after the horizon).</summary>
    private int SummaryIndexOf(long slot)
    {
        int low = 0, high = _summaries.Count - 1;
        while (low < high)
        {
            var middle = (low + high + 1) / 2;
            if (_summaries[middle].FirstSlot <= slot)
                low = middle;
            else
                high = middle - 1;
        }
        return low;
    }

    /// <summary>Spills the farthest in-memory slots until the index is back under three quarters of its cap.</summary>
    private void Spill()
    {
        var target = MaxIndexBytes / 4 * 3;
        while (IndexBytes > target && _slots.Count > 0)
        {
            var slot = _slots.Max;
            var bucket = _buckets[slot];
            _slots.Remove(slot);
            _buckets.Remove(slot);
            IndexBytes -= BucketOverhead + bucket.Data.Length;
            var spilled = new SpilledRange(slot, _horizon == long.MaxValue ? long.MaxValue : _horizon - 1, bucket.First, bucket.Last, bucket.Entries, bucket.Messages);
            _summaries.Insert(0, spilled);
            _horizon = slot;
            IndexBytes += SummaryOverhead;
            SpilledEntries += bucket.Entries;
            if (_summaries.Count > MaxSummaries)
                MergeFarthest();
        }
    }

    /// <summary>Merges the two farthest summaries: far deliveries cost a coarser re-read, near ones stay precise.</summary>
    private void MergeFarthest()
    {
        var last = _summaries[^1];
        var before = _summaries[^2];
        _summaries.RemoveAt(_summaries.Count - 1);
        _summaries[^1] = new SpilledRange(before.FirstSlot, last.LastSlot, Min(before.First, last.First), Max(before.Last, last.Last),
            before.Entries + last.Entries, before.Messages + last.Messages);
        IndexBytes -= SummaryOverhead;
    }

    private static Position Min(Position a, Position b) => a <= b ? a : b;

    private static Position Max(Position a, Position b) => a >= b ? a : b;

    /// <summary>
    /// One slot's positions: each a varint of (zigzag of the entry id's difference from the previous one) shifted
    /// left by one; a set low bit says the ledger changed, and is followed by the new ledger id's difference and the
    /// entry id. Entries mostly arrive in order, so consecutive ones cost one or two bytes.
    /// </summary>
    private sealed class Bucket(long slot)
    {
        private long _lastLedger;
        private long _lastEntry;

        public long Slot { get; } = slot;

        public byte[] Data = new byte[InitialBucketBytes];

        public int Length;

        public int Entries;

        public long Messages;

        public long MaxDeliverAt;

        public Position First = Position.Latest;

        public Position Last = Position.Earliest;

        public void Append(Position position, long deliverAtMs, int messages)
        {
            // A tag and up to three varints of at most 10 bytes each.
            if (Data.Length - Length < 30)
                Array.Resize(ref Data, Math.Max(Data.Length * 2, Length + 30));
            if (position.LedgerId == _lastLedger)
            {
                Length += Varint.Write(Data.AsSpan(Length), ZigZag(position.EntryId - _lastEntry) << 1);
            }
            else
            {
                Length += Varint.Write(Data.AsSpan(Length), (ZigZag(position.LedgerId - _lastLedger) << 1) | 1);
                Length += Varint.Write(Data.AsSpan(Length), (ulong)position.EntryId);
                _lastLedger = position.LedgerId;
            }
            _lastEntry = position.EntryId;
            Entries++;
            Messages += messages;
            MaxDeliverAt = Math.Max(MaxDeliverAt, deliverAtMs);
            First = Min(First, position);
            Last = Max(Last, position);
        }

        public int Decode(ICollection<Position> into)
        {
            long ledger = 0, entry = 0;
            var at = 0;
            for (var i = 0; i < Entries; i++)
            {
                var tag = ReadVarint(Data, ref at);
                if ((tag & 1) == 0)
                {
                    entry += UnZigZag(tag >> 1);
                }
                else
                {
                    ledger += UnZigZag(tag >> 1);
                    entry = (long)ReadVarint(Data, ref at);
                }
                into.Add(new Position(ledger, entry));
            }
            return Entries;
        }

        private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

        private static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

        private static ulong ReadVarint(byte[] data, ref int at)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                    return value;
            }
        }
    }
}

/// <summary>
/// Spilled entries: those whose deliver_at_ms falls in slots <paramref name="FirstSlot"/>..<paramref name="LastSlot"/>
/// (<see cref="long.MaxValue"/>: open-ended), all between <paramref name="First"/> and <paramref name="Last"/>.
/// </summary>
public readonly record struct SpilledRange(long FirstSlot, long LastSlot, Position First, Position Last, long Entries, long Messages);
