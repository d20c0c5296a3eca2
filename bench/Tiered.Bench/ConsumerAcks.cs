using Tiered.Client;

namespace Tiered.Bench;

/// <summary>The end of a benchmark consumer's acknowledgements (lists of messages sent without waiting).</summary>
internal static class ConsumerAcks
{
    /// <summary>Acknowledges what is left and waits for every acknowledgement sent; answers how many failed.</summary>
    public static async Task<long> FinishAsync(Consumer consumer, List<ReceivedMessage> toAck, List<Task> acks)
    {
        if (toAck.Count > 0)
            acks.Add(consumer.AcknowledgeAsync(toAck, CancellationToken.None));
        long failed = 0;
        foreach (var ack in acks)
        {
            try
            {
                await ack.ConfigureAwait(false);
            }
            catch (TieredClientException)
            {
                failed++;
            }
        }
        return failed;
    }
}
