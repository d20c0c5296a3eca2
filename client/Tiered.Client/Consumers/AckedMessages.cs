namespace Tiered.Client.Consumers;

/// <summary>
/// The messages of one partition this consumer acknowledged, so that a copy the broker delivers
/// again anyway is dropped rather than handed to the application a second time. That happens when
/// an acknowledgement and a redelivery cross: the stream broke after the application took a message,
/// the broker (or the new owner of the topic) sent it again from the stored cursor, and the
/// acknowledgement, resent on the new stream, was stored before the copy was taken (as Pulsar's
/// clients drop messages whose acknowledgement is pending). A new stream starts from the
/// acknowledgements it resends: those stored before are in the cursor it delivers from, and a seek
/// (which reconnects the consumer) must deliver acknowledged messages again. Individual
/// acknowledgements are kept up to about <see cref="Capacity"/> messages, the entries acknowledged first
/// forgotten first; a cumulative one as the position it reached.
/// Kept per entry, one bit per batch index: acknowledging a list of messages costs a bit each and a
/// lookup per entry (the entry last used is remembered), not a hash-set insertion and removal each.
/// Not thread-safe: the consumer calls it under its lock.
/// </summary>
internal sealed class AckedMessages
{
    /// <summary>A few receive queues' worth: a copy that crosses an acknowledgement was sent before it reached the broker.</summary>
    public const int Capacity = 4096;

    private readonly Dictionary<(long Ledger, long Entry), EntryAcks> _entries = [];
    private readonly Queue<(long Ledger, long Entry)> _order = new();
    private (long Ledger, long Entry) _cumulative = (-1, -1);

    /// <summary>The latest entry acknowledged by itself or by index since the last <see cref="Clear"/>; (-1, -1) for none.</summary>
    private (long Ledger, long Entry) _latest = (-1, -1);

    /// <summary>Messages (and whole entries) remembered: what <see cref="Capacity"/> bounds.</summary>
    private int _remembered;

    private (long Ledger, long Entry) _lastKey = (-1, -1);
    private EntryAcks? _last;

    public void Add(long ledger, long entry, int batchIndex)
    {
        if ((ledger, entry).CompareTo(_latest) > 0)
            _latest = (ledger, entry);
        var acks = Find(ledger, entry);
        if (acks is null)
        {
            acks = new EntryAcks();
            _entries.Add((ledger, entry), acks);
            _order.Enqueue((ledger, entry));
            (_lastKey, _last) = ((ledger, entry), acks);
        }
        if (!acks.Set(batchIndex))
            return;
        _remembered++;
        // The oldest entries go first; the one just added stays whatever its size.
        while (_remembered > Capacity && _order.Count > 1)
            Forget(_order.Dequeue());
    }

    /// <summary>Forgets everything (a new stream: what was stored before it is in the cursor it delivers from).</summary>
    public void Clear()
    {
        _entries.Clear();
        _order.Clear();
        _remembered = 0;
        (_lastKey, _last) = ((-1, -1), null);
        _cumulative = (-1, -1);
        _latest = (-1, -1);
    }

    /// <summary>The acknowledgement failed: the broker may rightly deliver the message again.</summary>
    public void Remove(long ledger, long entry, int batchIndex)
    {
        if (Find(ledger, entry) is { } acks && acks.Clear(batchIndex))
            _remembered--;
    }

    /// <summary>Every message up to and including (<paramref name="ledger"/>, <paramref name="entry"/>) is acknowledged.</summary>
    public void AddUpTo(long ledger, long entry)
    {
        if ((ledger, entry).CompareTo(_cumulative) > 0)
            _cumulative = (ledger, entry);
    }

    /// <summary>Whether the whole entry was acknowledged (cumulatively, or as an entry); checked once per delivery.</summary>
    public bool ContainsEntry(long ledger, long entry)
        => (ledger, entry).CompareTo(_cumulative) <= 0 || Find(ledger, entry) is { Whole: true };

    /// <summary>
    /// False when no message of the entry can have been acknowledged by index: it is later than every entry
    /// acknowledged that way (the usual case of a delivery), so that <see cref="ContainsIndex"/> need not be asked per message.
    /// </summary>
    public bool MayContainIndexesOf(long ledger, long entry) => (ledger, entry).CompareTo(_latest) <= 0;

    /// <summary>Whether the message at <paramref name="batchIndex"/> was acknowledged by itself (the entry as a whole: <see cref="ContainsEntry"/>).</summary>
    public bool ContainsIndex(long ledger, long entry, int batchIndex) => Find(ledger, entry) is { } acks && acks.IsSet(batchIndex);

    /// <summary>Whether the message (its batch index, or -1 for the whole entry) was acknowledged.</summary>
    public bool Contains(long ledger, long entry, int batchIndex)
        => (ledger, entry).CompareTo(_cumulative) <= 0 || Find(ledger, entry) is { } acks && (acks.Whole || acks.IsSet(batchIndex));

    private EntryAcks? Find(long ledger, long entry)
    {
        if (_last is not null && _lastKey == (ledger, entry))
            return _last;
        if (!_entries.TryGetValue((ledger, entry), out var acks))
            return null;
        (_lastKey, _last) = ((ledger, entry), acks);
        return acks;
    }

    private void Forget((long Ledger, long Entry) key)
    {
        if (!_entries.Remove(key, out var acks))
            return;
        _remembered -= acks.Count;
        if (_lastKey == key)
            (_lastKey, _last) = ((-1, -1), null);
    }

    /// <summary>One entry's acknowledged batch indexes (a bit each), or the whole entry (index -1).</summary>
    private sealed class EntryAcks
    {
        private ulong[] _bits = [];

        public bool Whole { get; private set; }

        /// <summary>Indexes set, the whole entry counting as one.</summary>
        public int Count { get; private set; }

        /// <returns>False when it was set already.</returns>
        public bool Set(int batchIndex)
        {
            if (batchIndex < 0)
            {
                if (Whole)
                    return false;
                Whole = true;
                Count++;
                return true;
            }
            var word = batchIndex >> 6;
            if (word >= _bits.Length)
                Array.Resize(ref _bits, Math.Max(word + 1, _bits.Length * 2));
            var bit = 1UL << (batchIndex & 63);
            if ((_bits[word] & bit) != 0)
                return false;
            _bits[word] |= bit;
            Count++;
            return true;
        }

        /// <returns>False when it was not set.</returns>
        public bool Clear(int batchIndex)
        {
            if (batchIndex < 0)
            {
                if (!Whole)
                    return false;
                Whole = false;
                Count--;
                return true;
            }
            var word = batchIndex >> 6;
            var bit = 1UL << (batchIndex & 63);
            if (word >= _bits.Length || (_bits[word] & bit) == 0)
                return false;
            _bits[word] &= ~bit;
            Count--;
            return true;
        }

        public bool IsSet(int batchIndex)
        {
            if (batchIndex < 0)
                return Whole;
            var word = batchIndex >> 6;
            return word < _bits.Length && (_bits[word] & (1UL << (batchIndex & 63))) != 0;
        }
    }
}
