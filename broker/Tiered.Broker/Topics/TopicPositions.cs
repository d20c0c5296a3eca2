using Tiered.Broker.Entries;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Topics;

/// <summary>Finding positions in a topic's log: its last message, and the first message published at or after a time.</summary>
public static class TopicPositions
{
    /// <summary>
    /// The last message stored, with its batch index; (-1, -1) when the topic holds none. Marker entries
    /// (replicated subscriptions' bookkeeping, never delivered) are not messages: the last message may be a few
    /// entries before the last entry.
    /// </summary>
    public static async Task<MessageId> LastMessageIdAsync(Topic topic, CancellationToken cancellationToken)
    {
        var ledger = topic.Ledger;
        var last = ledger.LastConfirmedEntry;
        var take = 1; // the last entry first; more at a time only when it is a marker
        foreach (var summary in ledger.Ledgers.Reverse())
        {
            if (summary.LedgerId > last.LedgerId)
                continue;
            var end = summary.LedgerId == last.LedgerId ? last.EntryId : summary.Entries - 1;
            while (end >= 0)
            {
                var first = Math.Max(0, end - take + 1);
                take = MarkersPerRead;
                var entries = await ledger.ReadEntriesAsync(new Position(summary.LedgerId, first), (int)(end - first + 1), cancellationToken).ConfigureAwait(false);
                for (var i = entries.Count - 1; i >= 0; i--)
                {
                    if (entries[i].Position.LedgerId != summary.LedgerId || entries[i].Position.EntryId > end)
                        continue;
                    var readable = BatchHeader.TryRead(entries[i].Data.Span, out var header, out _);
                    if (readable && header.IsMarker)
                        continue;
                    var messages = readable ? header.MessageCount : 1;
                    var position = entries[i].Position;
                    return new MessageId { LedgerId = position.LedgerId, EntryId = position.EntryId, Partition = topic.Name.PartitionIndex, BatchIndex = messages - 1, BatchSize = messages };
                }
                end = first - 1;
            }
        }
        return new MessageId { LedgerId = -1, EntryId = -1, Partition = topic.Name.PartitionIndex, BatchIndex = -1 };
    }

    /// <summary>Entries read at a time looking back for the last message: one read unless markers are at the end.</summary>
    private const int MarkersPerRead = 8;

    /// <summary>
    /// The position of the first entry published at or after <paramref name="publishTimeMs"/>
    /// (binary search over the retained entries, assuming publish times grow along the log), or
    /// the position after the last entry when none is.
    /// </summary>
    public static async Task<Position> FindByPublishTimeAsync(ManagedLedger ledger, long publishTimeMs, CancellationToken cancellationToken)
    {
        var ledgers = ledger.Ledgers.Where(l => l.Entries > 0).ToArray();
        long total = ledgers.Sum(l => l.Entries);
        long low = 0, high = total;
        while (low < high)
        {
            var middle = low + (high - low) / 2;
            var position = At(ledgers, middle);
            var entries = await ledger.ReadEntriesAsync(position, 1, cancellationToken).ConfigureAwait(false);
            var time = entries.Count == 1 && BatchHeader.TryRead(entries[0].Data.Span, out var header, out _) ? header.PublishTimeMs : long.MaxValue;
            if (time < publishTimeMs)
                low = middle + 1;
            else
                high = middle;
        }
        return low < total ? At(ledgers, low) : ledger.GetNextPosition(ledger.LastConfirmedEntry);
    }

    private static Position At(LedgerSummary[] ledgers, long index)
    {
        foreach (var l in ledgers)
        {
            if (index < l.Entries)
                return new Position(l.LedgerId, index);
            index -= l.Entries;
        }
        throw new ArgumentOutOfRangeException(nameof(index));
    }
}
