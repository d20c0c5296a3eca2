using Google.Protobuf;
using Grpc.Core;
using Tiered.Broker.Entries;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Broker.Subscriptions;

/// <summary>
/// A dead-letter or retry topic as one move sees it, opened for one producer name: the topic on this broker, or a
/// producer on the broker of the same cluster that owns it (docs/messaging.md). Disposed after the move.
/// </summary>
internal interface ILetterTopic : IAsyncDisposable
{
    /// <summary>The highest sequence id stored for the producer name (de-duplication's); -1 when none, unknown, or de-duplication is off.</summary>
    long LastSequenceId { get; }

    /// <summary>The topic's last entry now, where a crash recovery starts looking; <see cref="Position.Earliest"/> when not known here (a remote topic).</summary>
    Position After { get; }

    /// <summary>Whether the publish in flight was stored (the crash recovery's check).</summary>
    Task<bool> ContainsAsync(DeadLetterInFlight inFlight, CancellationToken cancellationToken);

    /// <summary>Stores the batch (sequence ids <paramref name="firstSequenceId"/>..<paramref name="lastSequenceId"/>); a resend de-duplication recognizes is not stored again.</summary>
    Task PublishAsync(MessageBatch batch, int messages, long firstSequenceId, long lastSequenceId, CancellationToken cancellationToken);
}

/// <summary>A letter topic this broker owns: published to directly, as before.</summary>
internal sealed class LocalLetterTopic(Topic topic, string? producer) : ILetterTopic
{
    public long LastSequenceId => producer is null ? -1 : topic.LastSequenceId(producer);

    public Position After => topic.Ledger.LastConfirmedEntry;

    /// <summary>
    /// After its last entry at the time, a batch of this producer with the sequence id. A move begun while another
    /// broker owned this topic does not know that entry: when this topic's de-duplication knows the producer, the
    /// batch is sent again and de-duplication answers it; otherwise the topic is searched from its start.
    /// </summary>
    public async Task<bool> ContainsAsync(DeadLetterInFlight inFlight, CancellationToken cancellationToken)
    {
        if (inFlight.After == Position.Earliest && LastSequenceId >= 0)
            return false;
        var name = System.Text.Encoding.UTF8.GetBytes(producer ?? "");
        var reader = topic.Ledger.OpenNonDurableCursor(inFlight.After);
        while (true)
        {
            var entries = await reader.ReadEntriesAsync(100, cancellationToken).ConfigureAwait(false);
            if (entries.Count == 0)
                return false;
            foreach (var entry in entries)
            {
                if (BatchHeader.TryRead(entry.Data.Span, out var header, out _) && (long)header.SequenceId == inFlight.SequenceId
                    && entry.Data.Span[header.ProducerName].SequenceEqual(name))
                    return true;
            }
        }
    }

    public async Task PublishAsync(MessageBatch batch, int messages, long firstSequenceId, long lastSequenceId, CancellationToken cancellationToken)
    {
        var publishing = topic.PublishAsync(batch.ToByteArray(), messages, producer, firstSequenceId, lastSequenceId, out var duplicate, cancellationToken);
        var position = await publishing.ConfigureAwait(false);
        if (!duplicate)
            topic.MessageCounts.Record(position, messages);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// A letter topic another broker of the cluster owns: a Produce stream to it (the public Messaging service), opened
/// with the subscription's producer name so that its de-duplication drops a resend (the crash recovery's check) and its
/// <see cref="ProducerOpened.LastSequenceId"/> keeps a new move's sequence id above every one it has seen.
/// </summary>
internal sealed class RemoteLetterTopic : ILetterTopic
{
    /// <summary>How long one move may wait for the owner; after it, the move fails and is tried again later.</summary>
    internal static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly AsyncDuplexStreamingCall<ProduceRequest, ProduceResponse> _call;
    private readonly string _owner;

    private RemoteLetterTopic(AsyncDuplexStreamingCall<ProduceRequest, ProduceResponse> call, string owner, long lastSequenceId)
        => (_call, _owner, LastSequenceId) = (call, owner, lastSequenceId);

    public long LastSequenceId { get; }

    public Position After => Position.Earliest;

    /// <summary>
    /// Opens a producer named <paramref name="producer"/> (null: a name the owner gives, not de-duplicated across
    /// moves) on <paramref name="topic"/> at the broker whose gRPC URL is <paramref name="ownerUrl"/>.
    /// </summary>
    public static async Task<RemoteLetterTopic> OpenAsync(CallInvoker invoker, string ownerUrl, string topic, string? producer, CancellationToken cancellationToken)
    {
        var call = new Messaging.MessagingClient(invoker).Produce(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);
        try
        {
            await call.RequestStream.WriteAsync(new ProduceRequest { Open = new OpenProducer { Topic = topic, ProducerName = producer ?? "" } }, cancellationToken).ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
                throw new BrokerException(BrokerErrorCode.Unavailable, $"The broker at {ownerUrl} that owns {topic} ended the producer stream without answering; tried again shortly.");
            var opened = call.ResponseStream.Current.Opened
                ?? throw new BrokerException(BrokerErrorCode.Unavailable, $"The broker at {ownerUrl} that owns {topic} answered OpenProducer with {call.ResponseStream.Current.ResponseCase}; tried again shortly.");
            return new RemoteLetterTopic(call, ownerUrl, opened.HasLastSequenceId ? opened.LastSequenceId : -1);
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Not asked of the owner: the batch is sent again with its sequence id, and the owner's de-duplication (which
    /// knows a batch still being stored too, and <see cref="LastSequenceId"/> tells it was seen) answers it with the
    /// original's receipt without storing it twice. With de-duplication off on the letter topic's namespace the owner
    /// cannot tell: a move a crash interrupted after the owner stored it is then stored twice (docs/messaging.md, Limits).
    /// </summary>
    public Task<bool> ContainsAsync(DeadLetterInFlight inFlight, CancellationToken cancellationToken) => Task.FromResult(false);

    public async Task PublishAsync(MessageBatch batch, int messages, long firstSequenceId, long lastSequenceId, CancellationToken cancellationToken)
    {
        await _call.RequestStream.WriteAsync(new ProduceRequest { Send = new SendBatch { SequenceId = (ulong)firstSequenceId, Batch = batch } }, cancellationToken).ConfigureAwait(false);
        if (!await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            throw new BrokerException(BrokerErrorCode.Unavailable, $"The broker at {_owner} ended the producer stream before answering the batch; it is sent again shortly.");
        var response = _call.ResponseStream.Current;
        if (response.Error is { } error)
            throw new BrokerException(BrokerErrorCode.Unavailable, $"The broker at {_owner} refused the batch ({error.Code}): {error.Message}");
        if (response.Receipt is null)
            throw new BrokerException(BrokerErrorCode.Unavailable, $"The broker at {_owner} answered the batch with {response.ResponseCase}; it is sent again shortly.");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException)
        {
            // The stream ended already (the owner went, or refused): nothing to close.
        }
        _call.Dispose();
    }
}
