namespace Tiered.Ledger;

/// <summary>
/// Confirms a writer's pipelined adds in entry order. Bookies acknowledge entries in any order;
/// entry e is confirmed only once Qa distinct bookies of its write set acknowledged it and every
/// entry before it is confirmed. <see cref="LastAddConfirmed"/> is then the LAC the writer
/// piggybacks on its next adds. One ack bitmask per unconfirmed entry, in a ring that grows only
/// when the writer's window does: no allocation per entry. Not thread-safe: the ledger handle's
/// single writer loop owns it.
/// </summary>
public sealed class AddConfirmations
{
    private readonly DistributionSchedule _schedule;
    private ulong[] _masks = new ulong[1024]; // bit i set = bookie at ensemble position i acknowledged
    private int _head;                        // ring slot of entry LastAddConfirmed + 1

    public AddConfirmations(DistributionSchedule schedule, long lastAddConfirmed = -1)
    {
        _schedule = schedule;
        LastAddConfirmed = lastAddConfirmed;
        NextEntryId = lastAddConfirmed + 1;
    }

    public long LastAddConfirmed { get; private set; }

    /// <summary>The id the next <see cref="Add"/> assigns.</summary>
    public long NextEntryId { get; private set; }

    /// <summary>Entries added but not yet confirmed.</summary>
    public int Pending => (int)(NextEntryId - LastAddConfirmed - 1);

    /// <summary>Registers the next entry; returns its id.</summary>
    public long Add()
    {
        if (Pending == _masks.Length)
            Grow();
        _masks[Slot(NextEntryId)] = 0;
        return NextEntryId++;
    }

    /// <summary>
    /// Records that the bookie at <paramref name="bookieIndex"/> stored <paramref name="entryId"/>.
    /// Returns how many entries became confirmed (0 if the LAC did not move). Acks for entries
    /// already confirmed, not yet added, or from a bookie outside the entry's write set are ignored.
    /// </summary>
    public int Ack(long entryId, int bookieIndex)
    {
        if (entryId <= LastAddConfirmed || entryId >= NextEntryId || !_schedule.Stores(entryId, bookieIndex))
            return 0;
        _masks[Slot(entryId)] |= 1UL << bookieIndex;
        var confirmed = 0;
        while (Pending > 0 && ulong.PopCount(_masks[_head]) >= (ulong)_schedule.AckQuorum)
        {
            _head = (_head + 1) & (_masks.Length - 1);
            LastAddConfirmed++;
            confirmed++;
        }
        return confirmed;
    }

    /// <summary>Whether the bookie at <paramref name="bookieIndex"/> has acknowledged <paramref name="entryId"/> (true for confirmed entries).</summary>
    public bool HasAck(long entryId, int bookieIndex) =>
        entryId <= LastAddConfirmed || (entryId < NextEntryId && (_masks[Slot(entryId)] & (1UL << bookieIndex)) != 0);

    /// <summary>
    /// After the bookie at <paramref name="bookieIndex"/> was replaced by a new one at the same
    /// position (an ensemble change), forgets its acks for unconfirmed entries. Returns the
    /// unconfirmed entries that position stores, which must be re-sent to the replacement.
    /// </summary>
    public List<long> ForgetBookie(int bookieIndex)
    {
        var resend = new List<long>();
        for (var entryId = LastAddConfirmed + 1; entryId < NextEntryId; entryId++)
        {
            _masks[Slot(entryId)] &= ~(1UL << bookieIndex);
            if (_schedule.Stores(entryId, bookieIndex))
                resend.Add(entryId);
        }
        return resend;
    }

    private int Slot(long entryId) => (int)((_head + (entryId - LastAddConfirmed - 1)) & (_masks.Length - 1));

    private void Grow()
    {
        var grown = new ulong[_masks.Length * 2];
        for (var i = 0; i < Pending; i++)
            grown[i] = _masks[(_head + i) & (_masks.Length - 1)];
        _masks = grown;
        _head = 0;
    }
}
