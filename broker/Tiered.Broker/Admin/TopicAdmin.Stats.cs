using System.Globalization;
using System.Text;
using Tiered.Broker.Naming;
using Tiered.V1;

namespace Tiered.Broker.Admin;

public sealed partial class TopicAdmin
{
    public async Task<TopicStats> GetStatsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var loaded = await RequireAsync(topic, cancellationToken).ConfigureAwait(false);
        var rates = loaded.Rates.Sample();
        return new TopicStats
        {
            MsgRateIn = rates.MessagesIn,
            MsgThroughputIn = rates.BytesIn,
            MsgRateOut = rates.MessagesOut,
            MsgThroughputOut = rates.BytesOut,
            MsgInCounter = Interlocked.Read(ref loaded.MessagesIn),
            BytesInCounter = Interlocked.Read(ref loaded.BytesIn),
            MsgOutCounter = loaded.Subscriptions.Sum(s => Interlocked.Read(ref s.MessagesOut)),
            BytesOutCounter = loaded.Subscriptions.Sum(s => Interlocked.Read(ref s.BytesOut)),
            StorageSize = loaded.Ledger.TotalSize,
            Publishers = [.. loaded.Producers.Select(p => new PublisherStats
            {
                ProducerName = p.Name,
                Address = p.Address,
                ConnectedSince = Timestamp(p.ConnectedSince),
            })],
            Subscriptions = loaded.Subscriptions.ToDictionary(s => s.Name, s => new SubscriptionStats
            {
                Type = TypeName(s.Type),
                MsgBacklog = s.Cursor.Backlog,
                UnackedMessages = s.UnackedMessages,
                IsDurable = s.IsDurable,
                Consumers = [.. s.Consumers.Select(c => new ConsumerStats
                {
                    ConsumerName = c.Name,
                    Address = c.Address,
                    ConnectedSince = Timestamp(c.ConnectedSince),
                    UnackedMessages = c.PendingMessages,
                    AvailablePermits = c.Permits,
                })],
            }, StringComparer.Ordinal),
        };
    }

    public async Task<InternalTopicStats> GetInternalStatsAsync(TopicName topic, CancellationToken cancellationToken)
    {
        var loaded = await RequireAsync(topic, cancellationToken).ConfigureAwait(false);
        var ledger = loaded.Ledger;
        var ledgers = ledger.Ledgers;
        var current = ledgers.Count > 0 ? ledgers[^1] : default;
        return new InternalTopicStats
        {
            EntriesAddedCounter = ledger.EntriesAddedCounter,
            NumberOfEntries = ledger.NumberOfEntries,
            TotalSize = ledger.TotalSize,
            CurrentLedgerEntries = current.Entries,
            CurrentLedgerSize = current.Size,
            LastConfirmedEntry = ledger.LastConfirmedEntry.ToString(),
            State = "LedgerOpened",
            Ledgers = [.. ledgers.Select(l => new LedgerStats(l.LedgerId, l.Entries, l.Size, l.Offloaded, l.BookieDeleted, l.OffloadLocation))],
            Cursors = loaded.Subscriptions.Where(s => s.IsDurable).ToDictionary(s => s.Name, s =>
            {
                var ranges = s.Cursor.AckedRanges;
                return new CursorStats
                {
                    MarkDeletePosition = s.Cursor.MarkDeletePosition.ToString(),
                    ReadPosition = s.Cursor.ReadPosition.ToString(),
                    IndividuallyDeletedMessages = FormatRanges(ranges),
                    TotalNonContiguousDeletedMessagesRange = ranges.Count,
                    NumberOfEntriesSinceFirstNotAckedMessage = ledger.GetEntriesBetween(s.Cursor.MarkDeletePosition, ledger.LastConfirmedEntry),
                };
            }, StringComparer.Ordinal),
        };
    }

    /// <summary>Pulsar's form: open-closed ranges "[(l:e1,l:e2]]" (first acknowledged entry minus one, last acknowledged entry).</summary>
    private static string FormatRanges(IReadOnlyList<(ManagedLedger.Position First, ManagedLedger.Position Last)> ranges)
    {
        var text = new StringBuilder("[");
        foreach (var (first, last) in ranges)
        {
            if (text.Length > 1)
                text.Append(',');
            text.Append(CultureInfo.InvariantCulture, $"({first.LedgerId}:{first.EntryId - 1}..{last}]");
        }
        return text.Append(']').ToString();
    }

    private static string Timestamp(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    private static string TypeName(SubscriptionType type) => type switch
    {
        SubscriptionType.Shared => "Shared",
        SubscriptionType.Failover => "Failover",
        SubscriptionType.KeyShared => "Key_Shared",
        _ => "Exclusive",
    };
}
