using System.Text.Json;
using Tiered.Broker.Admin;
using Tiered.Broker.Metadata;
using Tiered.Broker.Naming;
using Tiered.Broker.Subscriptions;
using Tiered.ManagedLedgers;

namespace Tiered.Broker.Topics;

/// <summary>Topic lifecycle operations of the admin API: terminate (kept in the metadata service) and expiring messages on demand.</summary>
public sealed partial class TopicRegistry
{
    /// <summary>
    /// Terminates a loaded topic: refuses every later publish, closes its producers and records
    /// where it ended, so that it stays terminated when the topic is loaded again (here or on
    /// another broker). Answers the position of its last message.
    /// </summary>
    public async Task<Position> TerminateAsync(Topic topic, CancellationToken cancellationToken)
    {
        if (topic.TerminatedAt is { } already)
            return already;
        var end = await topic.TerminateAsync().ConfigureAwait(false);
        try
        {
            var record = new MessageIdData(end.LedgerId, end.EntryId, topic.Name.PartitionIndex);
            await Policies.Metadata.PutAsync(MetadataPaths.TerminatedTopic(topic.Name), JsonSerializer.SerializeToUtf8Bytes(record, PolicyStore.Json),
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Not recorded: the topic would accept messages again after a reload, so it does so now.
            topic.CancelTermination();
            throw;
        }
        foreach (var producer in topic.Producers)
            producer.Close($"topic {topic.Name} was terminated at {end}");
        return end;
    }

    /// <summary>Acknowledges every message of the subscription published more than <paramref name="age"/> ago (expire-messages).</summary>
    public async Task ExpireMessagesAsync(Subscription subscription, TimeSpan age, CancellationToken cancellationToken)
    {
        // One pass expires a bounded number of entries; repeat until the subscription stops moving.
        Position before;
        do
        {
            before = subscription.Cursor.MarkDeletePosition;
            await ExpireAsync(subscription, age, cancellationToken).ConfigureAwait(false);
        }
        while (subscription.Cursor.MarkDeletePosition != before);
    }

    private async Task<Position?> ReadTerminationAsync(TopicName name)
    {
        var stored = await Policies.Metadata.GetAsync(MetadataPaths.TerminatedTopic(name), cancellationToken: _stop.Token).ConfigureAwait(false);
        if (stored is null)
            return null;
        var record = JsonSerializer.Deserialize<MessageIdData>(stored.Value.Span, PolicyStore.Json)
            ?? throw new BrokerException(BrokerErrorCode.Unavailable, $"The termination record of {name} is empty.");
        return new Position(record.LedgerId, record.EntryId);
    }
}
