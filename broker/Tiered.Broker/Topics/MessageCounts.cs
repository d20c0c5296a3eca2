using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>
/// How many messages the topic's entries hold, for backlogs counted in messages without reading
/// entries. An entry is one batch; the topic records the batch size of each entry it stores
/// (<see cref="Record"/>; a marker of replicated subscriptions holds none), and any entry it did
/// not record — stored before the topic was loaded on this broker — counts as one message. Per ledger it keeps each recorded entry's messages
/// beyond the first, in blocks with a running sum, so a count over a range costs at most two
/// partial blocks plus one addition per block. Ledgers no longer in the managed ledger are
/// dropped by <see cref="Retain"/>.
/// </summary>
public sealed class MessageCounts
{
    private const int BlockShift = 8;
    private const int BlockSize = 1 << BlockShift;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, LedgerCounts> _ledgers = [];

    /// <summary>The entry at <paramref name="position"/> holds <paramref name="messages"/> messages (0: a marker).</summary>
    public void Record(Position position, int messages)
    {
        if (messages == 1 || position.EntryId < 0 || position.EntryId >= int.MaxValue)
            return;
        lock (_lock)
        {
            if (!_ledgers.TryGetValue(position.LedgerId, out var ledger))
                _ledgers[position.LedgerId] = ledger = new LedgerCounts();
            ledger.Set((int)position.EntryId, messages - 1);
        }
    }

    /// <summary>
    /// Messages in the entries of ledger <paramref name="ledgerId"/> from <paramref name="first"/>
    /// to <paramref name="last"/> (inclusive), beyond one per entry.
    /// </summary>
    public long ExtraMessages(long ledgerId, long first, long last)
    {
        lock (_lock)
            return _ledgers.TryGetValue(ledgerId, out var ledger) ? ledger.Sum(first, last) : 0;
    }

    /// <summary>Forgets ledgers not among <paramref name="ledgers"/> (trimmed or deleted).</summary>
    public void Retain(IReadOnlyList<LedgerSummary> ledgers)
    {
        lock (_lock)
        {
            if (_ledgers.Count == 0)
                return;
            foreach (var id in _ledgers.Keys.ToList())
            {
                if (!ledgers.Any(l => l.LedgerId == id))
                    _ledgers.Remove(id);
            }
        }
    }

    private sealed class LedgerCounts
    {
        private int[] _extra = new int[BlockSize];
        private long[] _blocks = new long[1];

        public void Set(int entry, int extra)
        {
            if (entry >= _extra.Length)
            {
                var size = _extra.Length;
                while (size <= entry)
                    size *= 2;
                Array.Resize(ref _extra, size);
                Array.Resize(ref _blocks, size >> BlockShift);
            }
            _blocks[entry >> BlockShift] += extra - _extra[entry];
            _extra[entry] = extra;
        }

        public long Sum(long first, long last)
        {
            first = Math.Max(0, first);
            last = Math.Min(last, _extra.Length - 1);
            long sum = 0;
            var at = first;
            while (at <= last)
            {
                if ((at & (BlockSize - 1)) == 0 && at + BlockSize - 1 <= last)
                {
                    sum += _blocks[at >> BlockShift];
                    at += BlockSize;
                }
                else
                {
                    sum += _extra[at];
                    at++;
                }
            }
            return sum;
        }
    }
}
