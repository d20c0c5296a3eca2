using Tiered.Client.Producers;

namespace Tiered.Client;

public sealed partial class TieredClient
{
    /// <summary>
    /// Looks the topic up and opens a producer on it (one per partition of a partitioned topic); completes
    /// when every stream is open. Throws <see cref="TieredClientException"/> with the broker's reason when it
    /// refuses, or when the broker cannot be reached within the operation timeout.
    /// </summary>
    public async Task<Producer> CreateProducerAsync(ProducerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var lookup = await LookupAsync(options.Topic, cancellationToken).ConfigureAwait(false);
        var count = Math.Max(lookup.Partitions, 1);
        var producers = new PartitionProducer[count];
        for (var i = 0; i < count; i++)
        {
            producers[i] = lookup.Partitions == 0
                ? new PartitionProducer(this, options, lookup.Topic, -1)
                : new PartitionProducer(this, options, PartitionName(lookup.Topic, i), i);
        }
        var producer = new Producer(this, lookup.Topic, lookup.Partitions, producers, options.BatchingEnabled);
        Track(producer);
        var opened = new Task[count];
        for (var i = 0; i < count; i++)
        {
            producers[i].Start();
            opened[i] = producers[i].Opened;
        }
        try
        {
            await Task.WhenAll(opened).WaitAsync(Options.OperationTimeout, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
            return producer;
        }
        catch (Exception e)
        {
            await producer.CloseAsync(flush: false).ConfigureAwait(false);
            if (e is TimeoutException)
                throw new TieredClientException($"Could not open a producer on {options.Topic} within {Options.OperationTimeout.TotalSeconds:0.#} s; is a broker reachable at {Options.ServiceUrl}?", e);
            throw;
        }
    }
}
