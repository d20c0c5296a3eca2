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
/// acknowledgements are kept up to <see cref="Capacity"/>, the oldest forgotten first; a cumulative
/// one as the position it reached.
/// Not thread-safe: the consumer calls it under its lock.
/// </summary>
internal sealed class AckedMessages
{
    /// <summary>A few receive queues' worth: a copy that crosses an acknowledgement was sent before it reached the broker.</summary>
    public const int Capacity = 4096;

    private readonly HashSet<(long Ledger, long Entry, int Index)> _acked = [];
    private readonly Queue<(long Ledger, long Entry, int Index)> _order = new();
    private (long Ledger, long Entry) _cumulative = (-1, -1);

    /// <summary>The latest entry acknowledged by itself or by index since the last <see cref="Clear"/>; (-1, -1) for none.</summary>
    private (long Ledger, long Entry) _latest = (-1, -1);

    public void Add(long ledger, long entry, int batchIndex)
    {
        if ((ledger, entry).CompareTo(_latest) > 0)
            _latest = (ledger, entry);
        if (!_acked.Add((ledger, entry, batchIndex)))
            return;
        _order.Enqueue((ledger, entry, batchIndex));
        if (_order.Count > Capacity)
            _acked.Remove(_order.Dequeue());
    }

    /// <summary>Forgets everything (a new stream: what was stored before it is in the cursor it delivers from).</summary>
    public void Clear()
    {
        _acked.Clear();
        _order.Clear();
        _cumulative = (-1, -1);
        _latest = (-1, -1);
    }

    /// <summary>The acknowledgement failed: the broker may rightly deliver the message again.</summary>
    public void Remove(long ledger, long entry, int batchIndex) => _acked.Remove((ledger, entry, batchIndex));

    /// <summary>Every message up to and including (<paramref name="ledger"/>, <paramref name="entry"/>) is acknowledged.</summary>
    public void AddUpTo(long ledger, long entry)
    {
        if ((ledger, entry).CompareTo(_cumulative) > 0)
            _cumulative = (ledger, entry);
    }

    /// <summary>Whether the whole entry was acknowledged (cumulatively, or as an entry); checked once per delivery.</summary>
    public bool ContainsEntry(long ledger, long entry)
        => (ledger, entry).CompareTo(_cumulative) <= 0 || _acked.Contains((ledger, entry, -1));

    /// <summary>
    /// False when no message of the entry can have been acknowledged by index: it is later than every entry
    /// acknowledged that way (the usual case of a delivery), so that <see cref="ContainsIndex"/> need not be asked per message.
    /// </summary>
    public bool MayContainIndexesOf(long ledger, long entry) => (ledger, entry).CompareTo(_latest) <= 0;

    /// <summary>Whether the message at <paramref name="batchIndex"/> was acknowledged by itself (the entry as a whole: <see cref="ContainsEntry"/>).</summary>
    public bool ContainsIndex(long ledger, long entry, int batchIndex) => _acked.Contains((ledger, entry, batchIndex));

    /// <summary>Whether the message (its batch index, or -1 for the whole entry) was acknowledged.</summary>
    public bool Contains(long ledger, long entry, int batchIndex)
        => (ledger, entry).CompareTo(_cumulative) <= 0 || _acked.Contains((ledger, entry, batchIndex)) || _acked.Contains((ledger, entry, -1));
}
