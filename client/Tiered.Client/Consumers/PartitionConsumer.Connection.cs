using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Client.Sessions;
using Tiered.Proto.Streams;
using Tiered.V1;

namespace Tiered.Client.Consumers;

/// <summary>The consumer's stream: subscribe, grant permits, resend unanswered acks, then unpack deliveries until it fails.</summary>
internal sealed partial class PartitionConsumer
{
    private Task RunAsync() => new StreamSession(_client, this).RunAsync(_stop.Token);

    string ISessionStream.Role => "consumer";

    bool ISessionStream.IsRetriable(Exception failure)
    {
        lock (_lock)
            return Retry.IsRetriable(failure, _everOpened);
    }

    void ISessionStream.OnReconnecting(Exception failure, TimeSpan delay)
        => _logger.ConsumerReconnecting(failure, Topic, (long)delay.TotalMilliseconds);

    void ISessionStream.OnFailed(Exception failure)
    {
        var error = failure switch
        {
            RpcException rpc => TieredClientException.From(rpc, $"Subscribing to {Topic} failed"),
            TieredClientException tce => tce,
            _ => new TieredClientException($"The consumer on {Topic} failed: {failure.Message}", failure),
        };
        _logger.ConsumerFailed(failure, Topic);
        Fail(error);
        _opened.TrySetException(error);
        _onFailed(error);
    }

    /// <summary>Subscribes at <paramref name="brokerUrl"/>, resends unanswered acks, then serves the stream until it ends.</summary>
    public async Task ServeAsync(string brokerUrl, CancellationToken stop)
    {
        using var callCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var call = _client.CallInvokerAt(brokerUrl).AsyncDuplexStreamingCall(ConsumeFrame.Method, null, new CallOptions(cancellationToken: callCts.Token));
        var subscribe = _subscribe.Clone();
        lock (_lock)
        {
            subscribe.ConsumerName = _consumerName;
            if (subscribe.Reader && _lastReceived is { } last)
            {
                // A reader resumes after the last message the application took; what was queued is dropped.
                subscribe.StartMessageId = last.ToProto();
                subscribe.StartInclusive = false;
            }
        }
        await call.RequestStream.WriteAsync(new ConsumeRequest { Subscribe = subscribe }, stop).ConfigureAwait(false);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(callCts.Token))
        {
            timeout.CancelAfter(_client.Options.OperationTimeout);
            if (!await call.ResponseStream.MoveNext(timeout.Token).ConfigureAwait(false))
                throw new StreamEndedException($"The broker ended the consumer's stream on {Topic} before Subscribed.");
        }
        var first = call.ResponseStream.Current.Response;
        if (first?.ResponseCase != ConsumeResponse.ResponseOneofCase.Subscribed)
            throw new StreamEndedException($"The broker answered Subscribe on {Topic} with {first?.ResponseCase ?? ConsumeResponse.ResponseOneofCase.Delivery}, not Subscribed.");

        var outgoing = Channel.CreateUnbounded<ConsumeRequest>(new UnboundedChannelOptions { SingleReader = true });
        outgoing.Writer.TryWrite(new ConsumeRequest { Flow = new Flow { Permits = (uint)_queueSize } });
        bool resubscribed;
        lock (_lock)
        {
            resubscribed = _everOpened;
            if (!string.IsNullOrEmpty(first.Subscribed.ConsumerName))
                _consumerName = first.Subscribed.ConsumerName;
            _everOpened = true;
            _received = 0;
            _queued = 0;
            _outgoing = outgoing;
            // Acks stored before this stream are in the cursor the broker delivers from (or were undone by a seek,
            // whose messages must come again); only the ones resent now can cross a redelivery.
            _acked.Clear();
            foreach (var ack in _pendingAcks.Values)
            {
                outgoing.Writer.TryWrite(ack.Request);
                if (ack.Request.Ack is { } resent)
                    RememberAcked(resent);
            }
        }
        if (resubscribed)
        {
            Instrumentation.Reconnections.Add(1);
            _logger.ConsumerResubscribed(ConsumerName, Topic, subscribe.Subscription, brokerUrl);
        }
        else
            _logger.ConsumerSubscribed(ConsumerName, Topic, subscribe.Subscription, brokerUrl);
        _opened.TrySetResult();

        var writer = WriteLoopAsync(call.RequestStream, outgoing.Reader, callCts, _client.Options.OperationTimeout);
        try
        {
            while (await call.ResponseStream.MoveNext(callCts.Token).ConfigureAwait(false))
                OnFrame(call.ResponseStream.Current);
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            throw new StreamOpenedThenFailedException(e);
        }
        finally
        {
            lock (_lock)
            {
                // The broker redelivers what this stream delivered and was not acked: drop it from the queue.
                _epoch++;
                _queued = 0;
                _received = 0;
                if (_outgoing == outgoing)
                    _outgoing = null;
                if (_subscribe.Type == V1.SubscriptionType.Failover)
                    _isActive = false;
            }
            outgoing.Writer.TryComplete();
            await callCts.CancelAsync().ConfigureAwait(false);
            await writer.ConfigureAwait(false);
        }
    }

    private static async Task WriteLoopAsync(IClientStreamWriter<ConsumeRequest> stream, ChannelReader<ConsumeRequest> outgoing, CancellationTokenSource callCts, TimeSpan timeout)
    {
        var cancel = callCts.Token;
        try
        {
            await outgoing.WriteAllAsync(stream, cancel).ConfigureAwait(false);
        }
        catch (Exception) when (!cancel.IsCancellationRequested)
        {
            // The broker ended the call (or the connection broke): the read loop still takes the responses already
            // received, then sees the end of the stream. Should it not end, the call is cancelled after a while.
            callCts.CancelAfter(timeout);
        }
        catch (Exception)
        {
            // The call was cancelled: the stream is over.
        }
    }

    /// <summary>One response of the stream: a delivery (decoded by <see cref="ConsumeFrame"/>) or any other.</summary>
    internal void OnFrame(ConsumeFrame frame)
    {
        if (frame.Response is { } response)
            OnResponse(response);
        else
            OnDelivery(frame);
    }

    internal void OnResponse(ConsumeResponse response)
    {
        switch (response.ResponseCase)
        {
            case ConsumeResponse.ResponseOneofCase.AckReceipt:
                OnAckReceipt(response.AckReceipt);
                break;
            case ConsumeResponse.ResponseOneofCase.ActiveConsumerChanged:
                _isActive = response.ActiveConsumerChanged.IsActive;
                _logger.ActiveChanged(Topic, _isActive);
                break;
            default:
                // A second Subscribed, or a response this client does not know: nothing to do.
                break;
        }
    }

    /// <summary>
    /// Queues a delivered entry's messages as one item of the receive queue: each given its topic and id, those this
    /// consumer acknowledged already (the copy crossed the acknowledgement) or that the broker marks acknowledged left out.
    /// </summary>
    private void OnDelivery(ConsumeFrame delivery)
    {
        if (!delivery.HasBatch)
            throw new StreamEndedException($"A delivery on {Topic} without a batch.");
        if (delivery.FormatVersion > 1)
            throw new TieredClientException($"A message on {Topic} has batch format {delivery.FormatVersion}; this client reads format 1. Upgrade the client.");
        if (!delivery.HasMessageId)
            throw new StreamEndedException($"A delivery on {Topic} without a message id.");
        var messages = delivery.Messages;
        var acked = delivery.AckedBatchIndexes;
        var size = messages.Length;
        var (ledger, entryId) = (delivery.LedgerId, delivery.EntryId);
        // Indexes acknowledged already, or (Key_Shared, a batch split among consumers) another consumer's.
        var skipped = 0;
        foreach (var index in acked)
        {
            if ((uint)index < (uint)size && messages[index] is not null)
            {
                messages[index] = null;
                skipped++;
            }
        }
        long epoch;
        var dropped = 0;
        lock (_lock)
        {
            epoch = _epoch;
            // The entry's own state once, then one lookup per message only if this consumer acknowledged a message
            // of this entry or a later one (never while it catches up: its acknowledgements trail its deliveries).
            var wholeEntry = _acked.ContainsEntry(ledger, entryId);
            var lookUp = !wholeEntry && _acked.MayContainIndexesOf(ledger, entryId);
            if (wholeEntry || lookUp)
            {
                for (var i = 0; i < size; i++)
                {
                    if (messages[i] is not null && (wholeEntry || _acked.ContainsIndex(ledger, entryId, i)))
                    {
                        messages[i] = null;
                        dropped++;
                    }
                }
            }
            _queued += size - skipped - dropped;
            _received += dropped;
        }
        if (dropped > 0)
            GrantTakenPermits();
        var count = size - skipped - dropped;
        if (count == 0)
            return;
        for (var i = 0; i < size; i++)
            messages[i]?.Bind(Topic, new MessageId(ledger, entryId, Partition, i), delivery.RedeliveryCount);
        _queue.Add(this, epoch, messages, count);
    }

    private void OnAckReceipt(AckReceipt receipt)
    {
        PendingAck? pending;
        lock (_lock)
        {
            if (_pendingAcks.Remove(receipt.RequestId, out pending) is false)
                return;
        }
        if (string.IsNullOrEmpty(receipt.Error))
            pending.Completion.TrySetResult();
        else
            pending.Completion.TrySetException(new TieredClientException($"The broker refused the acknowledgement on {Topic}: {receipt.Error}"));
    }
}
