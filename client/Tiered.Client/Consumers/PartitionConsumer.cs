using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Tiered.V1;

namespace Tiered.Client.Consumers;

/// <summary>
/// The consumer of one topic or partition: one Consume stream at a time, feeding the shared receive queue of
/// its <see cref="Consumer"/>. Permits: ReceiverQueueSize at each subscribe, then as many as the application took,
/// granted each time it took half the queue or when it waits on an empty queue; the broker never has more than
/// ReceiverQueueSize outstanding. Acks are matched to their
/// receipts by request id and sent again on a new stream until answered.
/// </summary>
internal sealed partial class PartitionConsumer : Sessions.ISessionStream
{
    private readonly TieredClient _client;
    private readonly Subscribe _subscribe;
    private readonly int _queueSize;
    private readonly ReceiveQueue _queue;
    private readonly Action<Exception> _onFailed;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, PendingAck> _pendingAcks = [];
    private readonly AckedMessages _acked = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Channel<ConsumeRequest>? _outgoing;
    private long _epoch;
    private int _received;
    private int _queued;
    private ulong _nextRequestId;
    private MessageId? _lastReceived;
    private Exception? _closed;
    private bool _everOpened;
    private volatile bool _isActive;
    private string _consumerName;
    private Task _run = Task.CompletedTask;

    public PartitionConsumer(TieredClient client, Subscribe subscribe, int partition, int queueSize, ReceiveQueue queue, Action<Exception> onFailed)
    {
        _client = client;
        _subscribe = subscribe;
        Topic = subscribe.Topic;
        Partition = partition;
        _queueSize = queueSize;
        _queue = queue;
        _onFailed = onFailed;
        _consumerName = subscribe.ConsumerName;
        _isActive = subscribe.Type != V1.SubscriptionType.Failover;
        _logger = client.LoggerFactory.CreateLogger<PartitionConsumer>();
    }

    public string Topic { get; }

    public int Partition { get; }

    public Task Opened => _opened.Task;

    public bool IsActive => _isActive;

    public string ConsumerName
    {
        get
        {
            lock (_lock)
                return _consumerName;
        }
    }

    /// <summary>The last message the application received from this partition; where a reader resumes after a reconnection.</summary>
    public MessageId? LastReceived
    {
        get
        {
            lock (_lock)
                return _lastReceived;
        }
    }

    public void Start() => _run = RunAsync();

    /// <summary>False when messages queued at <paramref name="epoch"/> belong to an older stream generation and will be dropped.</summary>
    public bool IsCurrent(long epoch)
    {
        lock (_lock)
            return epoch == _epoch;
    }

    /// <summary>Called as the application takes <paramref name="message"/>, queued at <paramref name="epoch"/>: false if that is an older stream generation.</summary>
    public bool Accept(long epoch, ReceivedMessage message)
    {
        ConsumeRequest? flow = null;
        Channel<ConsumeRequest>? outgoing;
        lock (_lock)
        {
            if (epoch != _epoch)
                return false;
            _queued--;
            _lastReceived = message.Id;
            if (++_received >= Math.Max(1, _queueSize / 2))
            {
                flow = new ConsumeRequest { Flow = new Flow { Permits = (uint)_received } };
                _received = 0;
            }
            outgoing = _outgoing;
        }
        if (flow is not null)
            outgoing?.Writer.TryWrite(flow);
        Instrumentation.MessagesReceived.Add(1);
        return true;
    }

    /// <summary>
    /// Grants at once the permits of every message the application took since the last Flow. Called when the
    /// application waits on an empty queue: the broker may be holding a batch larger than the permits it has left.
    /// </summary>
    public void GrantTakenPermits()
    {
        ConsumeRequest flow;
        Channel<ConsumeRequest>? outgoing;
        lock (_lock)
        {
            if (_received == 0 || _outgoing is null)
                return;
            flow = new ConsumeRequest { Flow = new Flow { Permits = (uint)_received } };
            _received = 0;
            outgoing = _outgoing;
        }
        outgoing.Writer.TryWrite(flow);
    }

    /// <summary>Sends an ack and completes when its receipt says it is stored; sent again on a new stream if this one fails first.</summary>
    public Task AcknowledgeAsync(Ack ack, CancellationToken cancellationToken)
    {
        var pending = new PendingAck(new ConsumeRequest { Ack = ack });
        Channel<ConsumeRequest>? outgoing;
        lock (_lock)
        {
            if (_closed is not null)
                return Task.FromException(Closed());
            ack.RequestId = ++_nextRequestId;
            _pendingAcks.Add(ack.RequestId, pending);
            RememberAcked(ack);
            outgoing = _outgoing;
        }
        outgoing?.Writer.TryWrite(pending.Request);
        return ack.Cumulative ? WaitForReceiptAsync(ack.RequestId, pending, cancellationToken) : ForgetIfFailedAsync(ack, WaitForReceiptAsync(ack.RequestId, pending, cancellationToken));
    }

    /// <summary>Under the lock: the messages <paramref name="ack"/> acknowledges, so that a copy delivered meanwhile is dropped.</summary>
    private void RememberAcked(Ack ack)
    {
        foreach (var id in ack.MessageIds)
        {
            if (ack.Cumulative)
                _acked.AddUpTo(id.LedgerId, id.EntryId - (id.BatchIndex >= 0 && id.BatchIndex < id.BatchSize - 1 ? 1 : 0));
            else
                _acked.Add(id.LedgerId, id.EntryId, id.BatchIndex);
        }
    }

    /// <summary>An acknowledgement that failed no longer hides the message's next delivery.</summary>
    private async Task ForgetIfFailedAsync(Ack ack, Task receipt)
    {
        try
        {
            await receipt.ConfigureAwait(false);
        }
        catch
        {
            lock (_lock)
            {
                foreach (var id in ack.MessageIds)
                    _acked.Remove(id.LedgerId, id.EntryId, id.BatchIndex);
            }
            throw;
        }
    }

    /// <summary>Asks the broker for every unacknowledged message again and drops those waiting in the receive queue.</summary>
    public void RedeliverUnacknowledged()
    {
        Channel<ConsumeRequest>? outgoing;
        int dropped;
        lock (_lock)
        {
            _epoch++;
            dropped = _queued;
            _queued = 0;
            outgoing = _outgoing;
        }
        if (outgoing is null)
            return;
        outgoing.Writer.TryWrite(new ConsumeRequest { Redeliver = new RedeliverUnacknowledged() });
        if (dropped > 0)
            outgoing.Writer.TryWrite(new ConsumeRequest { Flow = new Flow { Permits = (uint)dropped } });
    }

    public async ValueTask CloseAsync()
    {
        Fail(new TieredClientException($"The consumer on {Topic} was closed."));
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task WaitForReceiptAsync(ulong requestId, PendingAck pending, CancellationToken cancellationToken)
    {
        try
        {
            await pending.Completion.Task.WaitAsync(_client.Options.OperationTimeout, _client.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            lock (_lock)
                _pendingAcks.Remove(requestId);
            throw new TieredClientException($"No receipt for an acknowledgement on {Topic} within {_client.Options.OperationTimeout.TotalSeconds:0.#} s.", e);
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
                _pendingAcks.Remove(requestId);
            throw;
        }
    }

    private void Fail(Exception error)
    {
        List<PendingAck> failed;
        lock (_lock)
        {
            _closed ??= error;
            _epoch++;
            failed = [.. _pendingAcks.Values];
            _pendingAcks.Clear();
        }
        foreach (var ack in failed)
            ack.Completion.TrySetException(error);
    }

    private TieredClientException Closed() => _closed as TieredClientException
        ?? new TieredClientException($"The consumer on {Topic} is closed: {_closed!.Message}", _closed);

    private sealed class PendingAck(ConsumeRequest request)
    {
        public ConsumeRequest Request { get; } = request;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

internal sealed partial class PartitionConsumer
{
    /// <summary>
    /// Asks the broker to deliver these messages again after the subscription's negative-ack delay. Not answered; a
    /// negative ack lost with its stream changes nothing, since the broker delivers what was not acknowledged again anyway.
    /// </summary>
    public void NegativeAcknowledge(NegativeAck nack)
    {
        Channel<ConsumeRequest>? outgoing;
        lock (_lock)
        {
            if (_closed is not null)
                throw Closed();
            outgoing = _outgoing;
        }
        outgoing?.Writer.TryWrite(new ConsumeRequest { NegativeAck = nack });
    }

    /// <summary>ReconsumeLater: answered with a receipt like an acknowledgement, and sent again on a new stream until answered.</summary>
    public Task ReconsumeLaterAsync(ReconsumeLater request, CancellationToken cancellationToken)
    {
        var pending = new PendingAck(new ConsumeRequest { ReconsumeLater = request });
        Channel<ConsumeRequest>? outgoing;
        lock (_lock)
        {
            if (_closed is not null)
                return Task.FromException(Closed());
            request.RequestId = ++_nextRequestId;
            _pendingAcks.Add(request.RequestId, pending);
            outgoing = _outgoing;
        }
        outgoing?.Writer.TryWrite(pending.Request);
        return WaitForReceiptAsync(request.RequestId, pending, cancellationToken);
    }
}
