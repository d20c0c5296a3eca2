using System.Threading.Channels;
using Grpc.Core;
using Tiered.V1;

namespace Tiered.Client.Tests;

internal sealed partial class FakeBroker
{
    private readonly SemaphoreSlim _receiptGate = new(0);
    private int _produceStreams;

    /// <summary>Every SendBatch received, in arrival order, with the number of the stream (1, 2, …) it came on.</summary>
    public List<ReceivedSend> Sends { get; } = [];

    public List<OpenProducer> Opens { get; } = [];

    /// <summary>The receipts written, in order, with their stream number.</summary>
    public List<(int Stream, ulong SequenceId)> ReceiptsWritten { get; } = [];

    public int MaxMessageBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>While true, a receipt is written only for each permit given by <see cref="ReleaseReceipts"/>.</summary>
    public bool HoldReceipts { get; set; }

    /// <summary>
    /// Once: when a produce stream receives its N-th batch, it writes the receipts of the batches before it and
    /// fails with UNAVAILABLE (a broker restarting), without storing that batch.
    /// </summary>
    public int? FailProduceStreamAtBatch { get; set; }

    /// <summary>How a stream cut by <see cref="FailProduceStreamAtBatch"/> ends: with this status, or normally (OK) when null.</summary>
    public StatusCode? FailProduceStreamWith { get; set; } = StatusCode.Unavailable;

    /// <summary>Batches for which the broker answers SendError INVALID_MESSAGE instead of storing them.</summary>
    public Func<MessageBatch, bool>? Invalid { get; set; }

    public Func<OpenProducer, RpcException?>? RefuseProducer { get; set; }

    /// <summary>
    /// Announces ProducerOpened.accepts_grouped_sends and takes SendBatches requests; answers a client that announced
    /// accepts_grouped_receipts with the receipts of the sends it has at hand in one SendReceipts (unless receipts are held).
    /// Off: the broker of a version before grouping, which a grouped request would fail.
    /// </summary>
    public bool AcceptGroupedSends { get; set; }

    /// <summary>Produce requests received after OpenProducer (a group counts once).</summary>
    public int ProduceRequests => Volatile.Read(ref _produceRequests);

    /// <summary>SendReceipts responses written (each with more than one receipt).</summary>
    public int GroupedReceiptResponses => Volatile.Read(ref _groupedReceiptResponses);

    private int _produceRequests;
    private int _groupedReceiptResponses;

    public int ProduceStreams => Volatile.Read(ref _produceStreams);

    public void ReleaseReceipts(int count) => _receiptGate.Release(count);

    public List<ReceivedSend> SendsSnapshot()
    {
        lock (Sends)
            return [.. Sends];
    }

    public override async Task Produce(IAsyncStreamReader<ProduceRequest> requestStream, IServerStreamWriter<ProduceResponse> responseStream, ServerCallContext context)
    {
        var stream = Interlocked.Increment(ref _produceStreams);
        if (!await requestStream.MoveNext())
            return;
        var open = requestStream.Current.Open ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "OpenProducer must come first"));
        lock (Opens)
            Opens.Add(open);
        if (RefuseProducer?.Invoke(open) is { } refusal)
            throw refusal;
        var name = open.ProducerName.Length > 0 ? open.ProducerName : $"fake-producer-{stream}";
        var grouped = AcceptGroupedSends;
        await responseStream.WriteAsync(new ProduceResponse
        {
            Opened = new ProducerOpened { Topic = open.Topic, ProducerName = name, MaxMessageBytes = MaxMessageBytes, AcceptsGroupedSends = grouped },
        });
        var log = Topic(open.Topic);
        var pending = Channel.CreateUnbounded<SendBatch>();
        var receipts = WriteReceiptsAsync(stream, log, pending.Reader, responseStream, grouped && open.AcceptsGroupedReceipts, context.CancellationToken);
        var count = 0;
        try
        {
            while (await requestStream.MoveNext())
            {
                var request = requestStream.Current;
                IEnumerable<SendBatch> sends = request.Send is { } one ? [one]
                    : grouped && request.Sends is { Sends.Count: > 0 } group ? group.Sends
                    : throw new RpcException(new Status(StatusCode.InvalidArgument, "only SendBatch after OpenProducer"));
                Interlocked.Increment(ref _produceRequests);
                foreach (var send in sends)
                {
                    lock (Sends)
                        Sends.Add(new ReceivedSend(stream, open.Topic, send));
                    if (++count == FailProduceStreamAtBatch)
                    {
                        FailProduceStreamAtBatch = null;
                        pending.Writer.Complete();
                        await receipts;
                        if (FailProduceStreamWith is { } status)
                            throw new RpcException(new Status(status, "broker restarting"));
                        return;
                    }
                    pending.Writer.TryWrite(send);
                }
            }
        }
        finally
        {
            pending.Writer.TryComplete();
        }
        await receipts;
    }

    private async Task WriteReceiptsAsync(int stream, TopicLog log, ChannelReader<SendBatch> pending, IServerStreamWriter<ProduceResponse> responses, bool groupReceipts,
        CancellationToken cancellationToken)
    {
        var group = new SendReceipts();
        await foreach (var send in pending.ReadAllAsync(cancellationToken))
        {
            if (groupReceipts && !HoldReceipts && Invalid is null)
            {
                // The receipts of every send at hand in one response (the fake stores at once).
                group.Receipts.Add(new SendReceipt { SequenceId = send.SequenceId, MessageId = new V1.MessageId { LedgerId = LedgerId, EntryId = log.Append(send.Batch), Partition = -1 } });
                if (pending.TryPeek(out _))
                    continue;
                await responses.WriteAsync(group.Receipts.Count == 1 ? new ProduceResponse { Receipt = group.Receipts[0] } : new ProduceResponse { Receipts = group }, cancellationToken);
                if (group.Receipts.Count > 1)
                    Interlocked.Increment(ref _groupedReceiptResponses);
                lock (ReceiptsWritten)
                    ReceiptsWritten.AddRange(group.Receipts.Select(r => (stream, r.SequenceId)));
                group = new SendReceipts();
                continue;
            }
            if (HoldReceipts)
                await _receiptGate.WaitAsync(cancellationToken);
            if (send.Batch.CalculateSize() > MaxMessageBytes || Invalid?.Invoke(send.Batch) == true)
            {
                await responses.WriteAsync(new ProduceResponse { Error = new SendError { SequenceId = send.SequenceId, Code = ErrorCode.InvalidMessage, Message = "batch too large" } }, cancellationToken);
                continue;
            }
            var entryId = log.Append(send.Batch);
            await responses.WriteAsync(
                new ProduceResponse { Receipt = new SendReceipt { SequenceId = send.SequenceId, MessageId = new V1.MessageId { LedgerId = LedgerId, EntryId = entryId, Partition = -1 } } },
                cancellationToken);
            lock (ReceiptsWritten)
                ReceiptsWritten.Add((stream, send.SequenceId));
        }
    }

    internal sealed record ReceivedSend(int Stream, string Topic, SendBatch Send);
}
