using Tiered.Client;

namespace Tiered.Cli.Messaging;

/// <summary>
/// Acknowledges the messages a command has handled in batches: one request per <see cref="BatchSize"/> messages,
/// or fewer when the command is about to wait for more (<see cref="SendAsync"/>), with a few requests in flight
/// rather than one round trip per message. A failed request fails the next call.
/// </summary>
internal sealed class AckBatcher(Consumer consumer)
{
    /// <summary>Messages acknowledged per request.</summary>
    public const int BatchSize = 100;

    /// <summary>Requests awaiting their receipt before the next one waits for the oldest.</summary>
    private const int MaxInFlight = 8;

    private readonly List<ReceivedMessage> _batch = new(BatchSize);
    private readonly Queue<Task> _inFlight = new();

    /// <summary>Adds a handled message; sends the batch once it is full.</summary>
    public ValueTask AddAsync(ReceivedMessage message)
    {
        _batch.Add(message);
        return _batch.Count >= BatchSize ? SendAsync() : ValueTask.CompletedTask;
    }

    /// <summary>Sends what is batched; throws the error of any request that failed.</summary>
    public async ValueTask SendAsync()
    {
        if (_batch.Count > 0)
        {
            // AcknowledgeAsync reads the list before it returns: it can be reused at once.
            _inFlight.Enqueue(consumer.AcknowledgeAsync(_batch, CancellationToken.None));
            _batch.Clear();
        }
        while (_inFlight.TryPeek(out var oldest) && (oldest.IsCompleted || _inFlight.Count > MaxInFlight))
            await _inFlight.Dequeue().ConfigureAwait(false);
    }

    /// <summary>Sends what is batched and waits for every receipt.</summary>
    public async Task DrainAsync()
    {
        await SendAsync().ConfigureAwait(false);
        while (_inFlight.TryDequeue(out var request))
            await request.ConfigureAwait(false);
    }
}
