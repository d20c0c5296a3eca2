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
        await responseStream.WriteAsync(new ProduceResponse { Opened = new ProducerOpened { Topic = open.Topic, ProducerName = name, MaxMessageBytes = MaxMessageBytes } });
        var log = Topic(open.Topic);
        var pending = Channel.CreateUnbounded<SendBatch>();
        var receipts = WriteReceiptsAsync(stream, log, pending.Reader, responseStream, context.CancellationToken);
        var count = 0;
        try
        {
            while (await requestStream.MoveNext())
            {
                var send = requestStream.Current.Send ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "only SendBatch after OpenProducer"));
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
        finally
        {
            pending.Writer.TryComplete();
        }
        await receipts;
    }

    private async Task WriteReceiptsAsync(int stream, TopicLog log, ChannelReader<SendBatch> pending, IServerStreamWriter<ProduceResponse> responses, CancellationToken cancellationToken)
    {
        await foreach (var send in pending.ReadAllAsync(cancellationToken))
        {
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
