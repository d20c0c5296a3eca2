using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Admin;

public sealed partial class TopicAdmin
{
    /// <summary>
    /// Where a reset to <paramref name="id"/> moves a subscription. The message itself when the topic
    /// holds it, or the position right after the last message; a negative ledger id is the earliest
    /// retained message and (long.MaxValue, long.MaxValue) after the last one (Pulsar's earliest and
    /// latest). Any other id is refused, naming the messages the topic holds: resetting to the
    /// "nearest" position silently would move the subscription somewhere nobody asked for.
    /// </summary>
    private static Position RequireResetTarget(Topic topic, MessageIdData id)
    {
        var ledger = topic.Ledger;
        var end = ledger.GetNextPosition(ledger.LastConfirmedEntry);
        if (id.LedgerId < 0)
            return ledger.FirstPosition;
        if (id is { LedgerId: long.MaxValue, EntryId: long.MaxValue })
            return end;
        var target = new Position(id.LedgerId, id.EntryId);
        var ledgers = ledger.Ledgers;
        if (target == end || (id.EntryId >= 0 && ledgers.Any(l => l.LedgerId == id.LedgerId && id.EntryId < l.Entries)))
            return target;
        var held = ledgers.Where(l => l.Entries > 0).Select(l => $"{l.LedgerId}:0 to {l.LedgerId}:{l.Entries - 1}").ToList();
        var shown = held.Count switch
        {
            0 => "no messages",
            <= 4 => "messages " + string.Join(", ", held),
            _ => $"messages {string.Join(", ", held.Take(2))}, …, {string.Join(", ", held.TakeLast(2))}",
        };
        throw new BrokerException(BrokerErrorCode.BadRequest,
            $"Message {id.LedgerId}:{id.EntryId} does not exist in {topic.Name}, which holds {shown}; give one of those ids, "
            + $"{end} (after the last message), or reset by time with …/resetcursor/{{timestamp}}.");
    }
}
