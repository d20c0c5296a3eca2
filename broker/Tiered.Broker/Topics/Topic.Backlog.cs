using Tiered.Broker.Subscriptions;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>
/// A subscription's backlog: the entries after its mark-delete position not acknowledged,
/// the messages they hold (see <see cref="MessageCounts"/>) less those acknowledged one by one,
/// and their estimated bytes (each ledger's bytes spread evenly over its entries).
/// </summary>
public readonly record struct Backlog(long Messages, long Entries, long Bytes);

public sealed partial class Topic
{
    /// <summary>The backlog of <paramref name="subscription"/>, computed from positions and recorded batch sizes; reads no entry.</summary>
    public Backlog BacklogOf(Subscription subscription)
    {
        var ledgers = Ledger.Ledgers;
        var cursor = subscription.Cursor;
        var markDelete = cursor.MarkDeletePosition;
        var last = Ledger.LastConfirmedEntry;
        var total = Measure(ledgers, markDelete, last);
        var (messages, entries, bytes) = (total.Messages, total.Entries, total.Bytes);
        foreach (var (first, end) in cursor.AckedRanges)
        {
            if (first > last || first <= markDelete)
                continue;
            var acked = Measure(ledgers, first with { EntryId = first.EntryId - 1 }, end < last ? end : last);
            (messages, entries, bytes) = (messages - acked.Messages, entries - acked.Entries, bytes - acked.Bytes);
        }
        messages -= cursor.AckedBatchMessages;
        return new Backlog(Math.Max(0, messages), Math.Max(0, entries), Math.Max(0, bytes));
    }

    /// <summary>Estimated bytes after the oldest mark-delete position of the durable subscriptions (Pulsar's topic backlogSize); 0 without any.</summary>
    public long EstimatedBacklogBytes()
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
        return oldest is { } from ? Measure(Ledger.Ledgers, from, Ledger.LastConfirmedEntry).Bytes : 0;
    }

    /// <summary>Messages, entries and estimated bytes in (<paramref name="fromExclusive"/>, <paramref name="toInclusive"/>].</summary>
    private Backlog Measure(IReadOnlyList<LedgerSummary> ledgers, Position fromExclusive, Position toInclusive)
    {
        long messages = 0, entries = 0, bytes = 0;
        foreach (var ledger in ledgers)
        {
            if (ledger.LedgerId < fromExclusive.LedgerId)
                continue;
            if (ledger.LedgerId > toInclusive.LedgerId)
                break;
            var first = ledger.LedgerId == fromExclusive.LedgerId ? Math.Max(0, fromExclusive.EntryId + 1) : 0;
            var last = ledger.LedgerId == toInclusive.LedgerId ? Math.Min(toInclusive.EntryId, ledger.Entries - 1) : ledger.Entries - 1;
            if (last < first)
                continue;
            var count = last - first + 1;
            entries += count;
            messages += count + MessageCounts.ExtraMessages(ledger.LedgerId, first, last);
            bytes += count == ledger.Entries ? ledger.Size : (long)((double)ledger.Size * count / ledger.Entries);
        }
        return new Backlog(messages, entries, bytes);
    }
}
