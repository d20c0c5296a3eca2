using Tiered.Broker.Entries;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Topics;

/// <summary>Finding positions in a topic's log: its last message, and the first message published at or after a time.</summary>
public static class TopicPositions
{
    /// <summary>The last message stored, with its batch index; (-1, -1) when the topic holds none.</summary>
    public static async Task<MessageId> LastMessageIdAsync(Topic topic, CancellationToken cancellationToken)
    {
        var ledger = topic.Ledger;
        var last = ledger.LastConfirmedEntry;
        if (last.EntryId < 0)
        {
            var previous = ledger.Ledgers.LastOrDefault(l => l.Entries > 0 && l.LedgerId < last.LedgerId);
            if (previous.Entries == 0)
                return new MessageId { LedgerId = -1, EntryId = -1, Partition = topic.Name.PartitionIndex, BatchIndex = -1 };
            last = new Position(previous.LedgerId, previous.Entries - 1);
        }
        var entries = await ledger.ReadEntriesAsync(last, 1, cancellationToken).ConfigureAwait(false);
        var messages = entries.Count == 1 && BatchHeader.TryRead(entries[0].Data.Span, out var header, out _) ? header.MessageCount : 1;
        return new MessageId { LedgerId = last.LedgerId, EntryId = last.EntryId, Partition = topic.Name.PartitionIndex, BatchIndex = messages - 1, BatchSize = messages };
    }

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
