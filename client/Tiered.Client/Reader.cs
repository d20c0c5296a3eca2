namespace Tiered.Client;

/// <summary>
/// Reads a topic in order from a chosen position, without a durable subscription: nothing is acknowledged and
/// nothing is kept for it on the broker. After a reconnection it resumes after the last message it returned.
/// </summary>
public sealed class Reader : IAsyncDisposable
{
    private readonly TieredClient _client;
    private readonly Consumer _consumer;
    private readonly ReaderOptions _options;

    internal Reader(TieredClient client, Consumer consumer, ReaderOptions options)
    {
        _client = client;
        _consumer = consumer;
        _options = options;
    }

    public string Topic => _consumer.Topic;

    public ValueTask<ReceivedMessage> ReadNextAsync(CancellationToken cancellationToken = default) => _consumer.ReceiveAsync(cancellationToken);

    /// <summary>
    /// Whether a message is there to read: one waiting in the receive queue, or one stored after the last message
    /// read (or after the start position) according to the broker's last message id.
    /// </summary>
    public async Task<bool> HasMessageAvailableAsync(CancellationToken cancellationToken = default)
    {
        if (_consumer.HasQueuedMessage())
            return true;
        foreach (var partition in _consumer.PartitionConsumers)
        {
            var last = await _client.GetLastEntryAsync(partition.Topic, cancellationToken).ConfigureAwait(false);
            if (last is null)
                continue;
            var lastIndex = last.BatchSize > 0 ? last.BatchSize - 1 : Math.Max(last.BatchIndex, 0);
            var lastId = new MessageId(last.LedgerId, last.EntryId, partition.Partition, lastIndex);
            if (partition.LastReceived is { } received)
            {
                if (lastId.CompareTo(received with { Partition = partition.Partition }) > 0)
                    return true;
                continue;
            }
            var start = _options.StartMessageId;
            if (start == MessageId.Earliest)
                return true;
            if (start == MessageId.Latest)
                continue;
            var c = lastId.CompareTo(start with { Partition = partition.Partition, BatchIndex = Math.Max(start.BatchIndex, 0) });
            if (c > 0 || (c == 0 && _options.StartInclusive))
                return true;
        }
        return false;
    }

    public ValueTask DisposeAsync() => _consumer.DisposeAsync();
}
