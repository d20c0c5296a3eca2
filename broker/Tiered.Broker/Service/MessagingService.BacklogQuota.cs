using Tiered.Broker.Entries;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Service;

/// <summary>A send on a topic whose backlog quota is exceeded with a producer policy (<see cref="Topic.BacklogQuotaBreach"/> set).</summary>
public sealed partial class MessagingService
{
    /// <summary>
    /// producer_exception: refused with BACKLOG_QUOTA_EXCEEDED and the reason, nothing stored. producer_request_hold: held,
    /// unanswered, and stored in order once the backlog is back under the quota; the producer feels it as back-pressure
    /// (its batches in flight stay unanswered, then the stream stops being read). Another cluster's replicator is held under
    /// either policy: refusing it would only make it send again.
    /// </summary>
    private static PendingSend OverBacklogQuota(Topic topic, ProducerInfo producer, BacklogQuotaBreach breach, ulong sequenceId, ReadOnlyMemory<byte> batch,
        int messages, string key, BatchHeader header, long receivedAt, bool replicated, CancellationToken streamEnded)
    {
        if (!breach.Hold && !replicated)
        {
            return new PendingSend(sequenceId, default, 0,
                new SendError { SequenceId = sequenceId, Code = ErrorCode.BacklogQuotaExceeded, Message = breach.Message });
        }
        var held = topic.PublishOrHold(batch, messages, key, (long)header.SequenceId, (long)header.LastSequenceId, producer, streamEnded);
        return new PendingSend(sequenceId, new ValueTask<Position>(held.Stored), messages, null, receivedAt, false, held);
    }
}
