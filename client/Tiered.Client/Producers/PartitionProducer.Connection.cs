using Grpc.Core;
using Microsoft.Extensions.Logging;
using Tiered.Client.Sessions;
using Tiered.Proto.Streams;
using Tiered.V1;

namespace Tiered.Client.Producers;

/// <summary>The producer's stream: open, resend what was not receipted, then write batches and read receipts until it fails.</summary>
internal sealed partial class PartitionProducer
{
    private Task RunAsync() => new StreamSession(_client, this).RunAsync(_stop.Token);

    string ISessionStream.Role => "producer";

    bool ISessionStream.IsRetriable(Exception failure)
    {
        lock (_lock)
            return Retry.IsRetriable(failure, _everOpened);
    }

    void ISessionStream.OnReconnecting(Exception failure, TimeSpan delay)
        => _logger.ProducerReconnecting(failure, Topic, (long)delay.TotalMilliseconds);

    void ISessionStream.OnFailed(Exception failure)
    {
        var error = failure switch
        {
            RpcException rpc => TieredClientException.From(rpc, $"The producer on {Topic} was refused"),
            TieredClientException tce => tce,
            _ => new TieredClientException($"The producer on {Topic} failed: {failure.Message}", failure),
        };
        _logger.ProducerFailed(failure, Topic);
        Fail(error);
        _opened.TrySetException(error);
    }

    /// <summary>Opens the producer at <paramref name="brokerUrl"/>, resends what was not receipted, then serves the stream until it ends.</summary>
    public async Task ServeAsync(string brokerUrl, CancellationToken stop)
    {
        using var callCts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var call = _client.MessagingAt(brokerUrl).Produce(cancellationToken: callCts.Token);
        string name;
        lock (_lock)
            name = _producerName;
        await call.RequestStream.WriteAsync(new ProduceRequest { Open = new OpenProducer { Topic = Topic, ProducerName = name, AcceptsGroupedReceipts = true } }, stop)
            .ConfigureAwait(false);
        using (var openTimeout = CancellationTokenSource.CreateLinkedTokenSource(callCts.Token))
        {
            openTimeout.CancelAfter(_client.Options.OperationTimeout);
            if (!await call.ResponseStream.MoveNext(openTimeout.Token).ConfigureAwait(false))
                throw new StreamEndedException($"The broker ended the producer's stream on {Topic} before ProducerOpened.");
        }
        var first = call.ResponseStream.Current;
        if (first.ResponseCase != ProduceResponse.ResponseOneofCase.Opened)
            throw new StreamEndedException($"The broker answered OpenProducer on {Topic} with {first.ResponseCase}, not ProducerOpened.");
        int resend;
        bool reopened;
        lock (_lock)
        {
            reopened = _everOpened;
            if (!string.IsNullOrEmpty(first.Opened.ProducerName))
                _producerName = first.Opened.ProducerName;
            _maxMessageBytes = first.Opened.MaxMessageBytes > 0 ? first.Opened.MaxMessageBytes : DefaultMaxMessageBytes;
            // A producer starting afresh under a name the topic knows continues after the ids stored for it (which
            // de-duplication would take for resends); a reopening one keeps its own, which are at least as high.
            if (!_everOpened && first.Opened.HasLastSequenceId && first.Opened.LastSequenceId >= 0 && (ulong)first.Opened.LastSequenceId >= _nextSequenceId)
                _nextSequenceId = (ulong)first.Opened.LastSequenceId + 1;
            if (_awaitingReceipt.Count > 0)
            {
                var all = new Queue<PendingBatch>(_awaitingReceipt.Count + _unsent.Count);
                foreach (var batch in _awaitingReceipt)
                    all.Enqueue(batch);
                foreach (var batch in _unsent)
                    all.Enqueue(batch);
                _awaitingReceipt.Clear();
                _unsent = all;
            }
            resend = _unsent.Count;
            _everOpened = true;
            name = _producerName;
        }
        if (reopened)
        {
            Instrumentation.Reconnections.Add(1);
            _logger.ProducerReopened(name, Topic, brokerUrl, resend);
        }
        else
            _logger.ProducerOpened(name, Topic, brokerUrl);
        _opened.TrySetResult();
        _wakeup.Writer.TryWrite(true);

        var writer = WriteLoopAsync(call.RequestStream, first.Opened.AcceptsGroupedSends, callCts);
        try
        {
            while (true)
            {
                // Receipts read in one go (one network read holds many) are completed together, once the stream has
                // no more at hand (or many are waiting): one thread-pool work item for all their sends.
                var next = call.ResponseStream.MoveNext(callCts.Token);
                if (!next.IsCompleted)
                    DispatchAnswered();
                if (!await next.ConfigureAwait(false))
                    break;
                OnResponse(call.ResponseStream.Current);
                if (_answeredMessages >= MaxAnsweredMessages)
                    DispatchAnswered();
            }
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            throw new StreamOpenedThenFailedException(e);
        }
        finally
        {
            DispatchAnswered();
            await callCts.CancelAsync().ConfigureAwait(false);
            await writer.ConfigureAwait(false);
        }
    }

    /// <summary>Messages of answered batches after which the read loop completes them even though more receipts are at hand.</summary>
    private const int MaxAnsweredMessages = 128;

    /// <summary>Batches the read loop took answers for and has not completed yet (the read loop's own).</summary>
    private List<Answered>? _answered;

    private int _answeredMessages;

    /// <summary>A batch answered: its first message's id, or the error its sends fail with; <paramref name="Done"/> for a flush waiting on it.</summary>
    private readonly record struct Answered(PendingBatch Batch, MessageId First, Exception? Error, TaskCompletionSource? Done);

    private void Answer(Answered answered)
    {
        (_answered ??= []).Add(answered);
        _answeredMessages += answered.Batch.Count;
    }

    private void DispatchAnswered()
    {
        if (_answered is not { } answered)
            return;
        _answered = null;
        _answeredMessages = 0;
        Dispatch(answered);
    }

    /// <summary>
    /// Completes the sends of <paramref name="answered"/> batches in one thread-pool work item, in order, each
    /// continuation run there in turn (rather than one work item per message, or the application's code on the
    /// read loop, which must go on reading receipts).
    /// </summary>
    private static void Dispatch(List<Answered> answered)
    {
        if (answered.Count == 0)
            return;
        ThreadPool.UnsafeQueueUserWorkItem(static batches =>
        {
            foreach (var (batch, first, error, done) in batches)
            {
                batch.Complete(first, error);
                done?.TrySetResult();
            }
        }, answered, preferLocal: false);
    }

    /// <summary>Batches one grouped request carries at most.</summary>
    internal const int MaxGroupedSends = 64;

    /// <summary>
    /// Bytes one grouped request carries at most (by the batches' size estimates, header room included), and never more
    /// than the broker's max_message_bytes, which its limit on a request message exceeds: a group always fits.
    /// </summary>
    internal const int MaxGroupedBytes = 256 * 1024;

    /// <summary>Produce requests written on this producer's streams (a group counts once), for tests.</summary>
    internal long RequestsWritten => Volatile.Read(ref _requestsWritten);

    /// <summary>Batches written on this producer's streams, alone or in groups, for tests.</summary>
    internal long BatchesWritten => Volatile.Read(ref _batchesWritten);

    private long _requestsWritten;
    private long _batchesWritten;

    /// <summary>
    /// Writes the batches queued in <c>_unsent</c>, in order. With <paramref name="grouped"/> (the broker set
    /// ProducerOpened.accepts_grouped_sends) the batches queued at that moment go in one SendBatches request (up to
    /// <see cref="MaxGroupedSends"/> and <see cref="MaxGroupedBytes"/>): one gRPC message and HTTP/2 frame for many small
    /// batches. The group request is reused from write to write (the write encodes it before it completes).
    /// </summary>
    private async Task WriteLoopAsync(IClientStreamWriter<ProduceRequest> stream, bool grouped, CancellationTokenSource callCts)
    {
        var cancel = callCts.Token;
        var group = grouped ? new ProduceRequest { Sends = new SendBatches() } : null;
        var sends = group?.Sends.Sends;
        try
        {
            while (await _wakeup.Reader.WaitToReadAsync(cancel).ConfigureAwait(false))
            {
                _wakeup.Reader.TryRead(out _);
                while (true)
                {
                    PendingBatch? next;
                    bool more;
                    lock (_lock)
                    {
                        if (_closed is not null || !_unsent.TryDequeue(out next))
                            break;
                        _awaitingReceipt.Enqueue(next);
                        if (sends is not null && _unsent.Count > 0)
                            TakeGroup(next, sends);
                        more = _unsent.Count > 0;
                    }
                    var batches = sends is { Count: > 1 } ? sends.Count : 1;
                    // Batches queued behind this request go out in the same network write.
                    await stream.WriteAsync(batches > 1 ? group! : next.Request!, more, cancel).ConfigureAwait(false);
                    sends?.Clear();
                    Volatile.Write(ref _requestsWritten, _requestsWritten + 1);
                    Volatile.Write(ref _batchesWritten, _batchesWritten + batches);
                }
            }
        }
        catch (Exception) when (!cancel.IsCancellationRequested)
        {
            // The broker ended the call (or the connection broke): the read loop still takes the responses already
            // received, then sees the end of the stream. Should it not end, the call is cancelled after a while.
            callCts.CancelAfter(_client.Options.OperationTimeout);
        }
        catch (Exception)
        {
            // The call was cancelled: the stream is over.
        }
    }

    // Under _lock: moves the batches queued behind first (which is taken already) into the group, as many as fit.
    private void TakeGroup(PendingBatch first, Google.Protobuf.Collections.RepeatedField<SendBatch> sends)
    {
        var limit = Math.Min(MaxGroupedBytes, _maxMessageBytes);
        var bytes = first.Bytes + BatchHeaderBytes;
        sends.Add(first.Request!.Send);
        while (sends.Count < MaxGroupedSends && _unsent.TryPeek(out var batch) && bytes + batch.Bytes + BatchHeaderBytes <= limit)
        {
            _unsent.Dequeue();
            _awaitingReceipt.Enqueue(batch);
            sends.Add(batch.Request!.Send);
            bytes += batch.Bytes + BatchHeaderBytes;
        }
    }

    private void OnResponse(ProduceResponse response)
    {
        switch (response.ResponseCase)
        {
            case ProduceResponse.ResponseOneofCase.Receipt:
                OnReceipt(response.Receipt);
                break;
            case ProduceResponse.ResponseOneofCase.Receipts:
                // Receipts of consecutive batches, in order: each exactly as if it had come alone.
                var receipts = response.Receipts.Receipts;
                for (var i = 0; i < receipts.Count; i++)
                    OnReceipt(receipts[i]);
                break;
            case ProduceResponse.ResponseOneofCase.Error:
                OnError(response.Error);
                break;
            default:
                throw new StreamEndedException($"The broker sent {response.ResponseCase} on the open producer stream of {Topic}.");
        }
    }

    private void OnReceipt(SendReceipt receipt)
    {
        PendingBatch head;
        TaskCompletionSource? done;
        var wake = false;
        lock (_lock)
        {
            if (!_awaitingReceipt.TryPeek(out head!))
            {
                // A receipt for a batch the stream never carried: a duplicate after a resend, or a broker bug.
                return;
            }
            if (receipt.SequenceId < head.SequenceId)
                return;
            if (receipt.SequenceId > head.SequenceId)
            {
                _logger.UnexpectedReceipt(Topic, receipt.SequenceId, head.SequenceId);
                throw new StreamEndedException($"Receipt for sequence id {receipt.SequenceId} while {head.SequenceId} was expected.");
            }
            _awaitingReceipt.Dequeue();
            done = head.MarkDone();
            if (_open is not null)
            {
                Seal();
                wake = true;
            }
        }
        if (wake)
            _wakeup.Writer.TryWrite(true);
        var id = receipt.MessageId is { } m ? new MessageId(m.LedgerId, m.EntryId, Partition, 0) : new MessageId(-1, -1, Partition, 0);
        Answer(new Answered(head, id, null, done));
        Release(head.Count);
        Instrumentation.MessagesSent.Add(head.Count);
        Instrumentation.BatchesSent.Add(1);
        Instrumentation.BatchLatency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(head.SealedAt).TotalMilliseconds);
    }

    private void OnError(SendError error)
    {
        if (error.Code is not (ErrorCode.InvalidMessage or ErrorCode.BacklogQuotaExceeded))
            throw new StreamEndedException($"The broker could not store batch {error.SequenceId} on {Topic} ({error.Code}): {error.Message}");
        PendingBatch head;
        TaskCompletionSource? done;
        var wake = false;
        lock (_lock)
        {
            if (!_awaitingReceipt.TryPeek(out head!) || head.SequenceId != error.SequenceId)
                throw new StreamEndedException($"SendError for sequence id {error.SequenceId}, which is not the oldest batch in flight.");
            _awaitingReceipt.Dequeue();
            done = head.MarkDone();
            if (_open is not null)
            {
                Seal();
                wake = true;
            }
        }
        if (wake)
            _wakeup.Writer.TryWrite(true);
        Exception refused = error.Code == ErrorCode.BacklogQuotaExceeded
            ? new BacklogQuotaExceededException($"The broker refused the message on {Topic} (backlog quota exceeded): {error.Message}")
            : new TieredClientException($"The broker refused the message on {Topic}: {error.Message}");
        Answer(new Answered(head, default, refused, done));
        Release(head.Count);
        Instrumentation.SendErrors.Add(head.Count);
    }
}
