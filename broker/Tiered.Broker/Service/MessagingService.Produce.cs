using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Tiered.Broker.Entries;
using Tiered.Broker.Naming;
using Tiered.Broker.Topics;
using Tiered.ManagedLedgers;
using Tiered.Proto.Streams;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

public sealed partial class MessagingService
{
    private static readonly ProducerNames GeneratedProducerNames = new();

    /// <summary>A batch handed to storage (or refused at once), answered in the order sent.</summary>
    /// <param name="ReceivedAt">Stopwatch timestamp of the batch's receipt, for the publish latency.</param>
    /// <param name="Duplicate">De-duplication found the batch stored already: <paramref name="Stored"/> is the original's position.</param>
    /// <param name="Held">Sent while a producer_request_hold backlog quota was exceeded: <paramref name="Stored"/> completes once it is stored.</param>
    private readonly record struct PendingSend(ulong SequenceId, ValueTask<Position> Stored, int Messages, SendError? Refused, long ReceivedAt = 0, bool Duplicate = false,
        HeldSend? Held = null);

    public override async Task Produce(IAsyncStreamReader<ProduceFrame> requests, IServerStreamWriter<ProduceResponse> responses, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requests.MoveNext(ct).ConfigureAwait(false))
            return;
        if (requests.Current.RequestCase != Wire.ProduceRequest.RequestOneofCase.Open)
            throw new BrokerException(BrokerErrorCode.BadRequest, "The first message of a Produce stream must be OpenProducer.");
        var open = requests.Current.Open!;
        var topicName = TopicName.Parse(open.Topic);
        var chosen = Names.ClientChosen(open.ProducerName, "producer");
        await access.CheckProduceAsync(context.GetHttpContext(), topicName, ct).ConfigureAwait(false);
        var topic = await topics.GetTopicAsync(topicName, create: true, ct).ConfigureAwait(false);
        topic.ThrowIfTerminated();
        var name = chosen.Length == 0 ? GeneratedProducerNames.Next(_options.ClusterName) : chosen;
        var producer = new ProducerInfo(name, context.Peer, topic.Time);
        var nameBytes = System.Text.Encoding.UTF8.GetBytes(name);
        var replicatedFrom = open.ReplicatedFrom.Length == 0 ? null : open.ReplicatedFrom;
        topic.AddProducer(producer);
        BrokerLog.ProducerOpened(logger, name, topic.Name.ToString());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, producer.Closed);
        var pending = Channel.CreateBounded<PendingSend>(new BoundedChannelOptions(_options.MaxPendingBatchesPerProducer) { SingleReader = true, SingleWriter = true });
        try
        {
            await responses.WriteAsync(new ProduceResponse
            {
                Opened = new ProducerOpened
                {
                    Topic = topic.Name.ToString(), ProducerName = name, MaxMessageBytes = _options.MaxMessageBytes, LastSequenceId = topic.LastSequenceId(name),
                    AcceptsGroupedSends = true,
                },
            }, ct).ConfigureAwait(false);
            // Answers are written until the client goes, not until the producer is closed: a batch handed to
            // the ledger before a close (a termination, say) still gets its receipt or its error.
            var answering = AnswerSendsAsync(topic, producer, pending.Reader, responses, open.AcceptsGroupedReceipts, ct);
            try
            {
                while (await requests.MoveNext(stop.Token).ConfigureAwait(false))
                {
                    var frame = requests.Current;
                    switch (frame.RequestCase)
                    {
                        case Wire.ProduceRequest.RequestOneofCase.Send:
                            await pending.Writer.WriteAsync(Store(topic, producer, nameBytes, replicatedFrom, frame.SequenceId, frame.Batch, stop.Token), stop.Token).ConfigureAwait(false);
                            break;
                        case Wire.ProduceRequest.RequestOneofCase.Sends:
                            if (frame.SendCount == 0)
                                throw new BrokerException(BrokerErrorCode.BadRequest, "A SendBatches request holds no SendBatch; send at least one (or a single SendBatch).");
                            // Each send of a group exactly as if it had come alone, in order: its own checks, its own
                            // answer, and its own place in the bounded queue (back-pressure holds the rest of the group).
                            for (var i = 0; i < frame.SendCount; i++)
                            {
                                var send = frame.SendAt(i);
                                await pending.Writer.WriteAsync(Store(topic, producer, nameBytes, replicatedFrom, send.SequenceId, send.Batch, stop.Token), stop.Token).ConfigureAwait(false);
                            }
                            break;
                        default:
                            throw new BrokerException(BrokerErrorCode.BadRequest, "A Produce stream opens one producer; after OpenProducer send only SendBatch (or SendBatches) messages.");
                    }
                    frame.Return();
                }
            }
            finally
            {
                pending.Writer.TryComplete();
                await answering.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (producer.CloseReason is { } reason && !ct.IsCancellationRequested)
        {
            throw ClosedByBroker("Producer", reason, topic);
        }
        finally
        {
            topic.RemoveProducer(producer);
        }
    }

    /// <param name="replicatedFrom">
    /// Set on another cluster's replicator stream: its batches are stored as they are (their own producer names and
    /// origin) and de-duplicated by origin cluster and producer name, so that the sequences of the producers it
    /// carries are never compared. Otherwise a batch is stored under the stream's producer name.
    /// </param>
    /// <param name="streamEnded">Fires when the producer's stream ends: a batch held by a backlog quota is then dropped, unstored.</param>
    private PendingSend Store(Topic topic, ProducerInfo producer, byte[] nameBytes, string? replicatedFrom, ulong sequenceId, ReadOnlyMemory<byte> batch, CancellationToken streamEnded)
    {
        var receivedAt = Stopwatch.GetTimestamp();
        if (batch.Length > _options.MaxMessageBytes)
            return Refuse(sequenceId, $"The batch is {batch.Length} bytes, larger than the broker's limit of {_options.MaxMessageBytes} bytes; send smaller messages or batches.");
        if (!BatchHeader.TryReadToPublish(batch.Span, out var header, out var error, allowMarkers: replicatedFrom is not null))
            return Refuse(sequenceId, error);
        // Another cluster's marker (replicated subscriptions): stored as it is, not de-duplicated (a marker stored
        // twice changes nothing), then acted on.
        if (header.IsMarker)
            return new PendingSend(sequenceId, topic.StoreReplicatedMarkerAsync(batch, header.Marker), 0, null, receivedAt, false);
        // De-duplication keys a batch by its producer and origin cluster: read before the batch may be re-stamped.
        var origin = batch.Span[header.ReplicatedFrom];
        string key;
        if (replicatedFrom is not null)
        {
            if (origin.IsEmpty || header.ProducerName.End.Value == header.ProducerName.Start.Value)
                return Refuse(sequenceId, $"A replicated batch (from {replicatedFrom}) must carry its producer_name and replicated_from.");
            key = Topics.Deduplication.KeyOf(System.Text.Encoding.UTF8.GetString(batch.Span[header.ProducerName]), origin);
        }
        else
        {
            key = Topics.Deduplication.KeyOf(producer.Name, origin);
            // A batch is stored with the stream's producer name (which de-duplication replays by after a restart) and
            // with a publish time: one that lacks the broker's time (as Pulsar's broker does, so that message TTL and
            // seek by time do not take it for a message of 1970) or names another producer is copied with them set.
            var stampTime = header.PublishTimeMs == 0;
            var stampName = !batch.Span[header.ProducerName].SequenceEqual(nameBytes);
            if (stampTime || stampName)
                batch = BatchHeader.Stamped(batch.Span, stampTime ? topics.Time.GetUtcNow().ToUnixTimeMilliseconds() : null, stampName ? producer.Name : null);
        }
        if (topic.BacklogQuotaBreach is { } breach)
            return OverBacklogQuota(topic, producer, breach, sequenceId, batch, header.MessageCount, key, header, receivedAt, replicatedFrom is not null, streamEnded);
        var stored = topic.PublishAsync(batch, header.MessageCount, key, (long)header.SequenceId, (long)header.LastSequenceId, out var duplicate, CancellationToken.None);
        if (!duplicate)
        {
            Interlocked.Add(ref producer.MessagesIn, header.MessageCount);
            Interlocked.Add(ref producer.BytesIn, batch.Length);
        }
        return new PendingSend(sequenceId, stored, header.MessageCount, null, receivedAt, duplicate);
    }

    private static PendingSend Refuse(ulong sequenceId, string reason)
        => new(sequenceId, default, 0, new SendError { SequenceId = sequenceId, Code = ErrorCode.InvalidMessage, Message = reason });

    /// <summary>Receipts ready together that one response carries at most (about 30 bytes each).</summary>
    internal const int MaxGroupedReceipts = 256;

    /// <summary>
    /// Answers every pending send in order: a receipt once stored, or the error. With <paramref name="groupReceipts"/>
    /// (the client set OpenProducer.accepts_grouped_receipts) the receipts of sends stored by the time the previous one
    /// is answered go out together in one SendReceipts response; an error always goes alone, after the receipts before it.
    /// </summary>
    private async Task AnswerSendsAsync(Topic topic, ProducerInfo producer, ChannelReader<PendingSend> pending, IServerStreamWriter<ProduceResponse> responses,
        bool groupReceipts, CancellationToken cancellationToken)
    {
        var receipts = new Receipts();
        await foreach (var send in pending.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            SendError? error = null;
            var position = default(Position);
            if (send.Refused is { } refused)
            {
                error = refused;
            }
            else
            {
                try
                {
                    position = await send.Stored.ConfigureAwait(false);
                    if (send.Duplicate || send.Held is { Duplicate: true })
                    {
                        BrokerLog.DuplicateDropped(logger, topic.Name.ToString(), producer.Name, send.SequenceId, position.ToString());
                    }
                    else
                    {
                        topics.Instrumentation.PublishLatency.Record(Stopwatch.GetElapsedTime(send.ReceivedAt).TotalSeconds, topic.MetricTags);
                        topic.MessageCounts.Record(position, send.Messages);
                    }
                }
                catch (ManagedLedgerFencedException e)
                {
                    BrokerLog.PublishFailed(logger, topic.Name.ToString(), e);
                    producer.Close("the topic moved to another owner");
                    // Reloading the topic recovers its ledger again; until then this instance can only refuse.
                    _ = topics.UnloadAsync(topic.Name);
                    error = new SendError { SequenceId = send.SequenceId, Code = ErrorCode.TopicClosed, Message = $"Topic {topic.Name} is no longer served here; look it up again and resend." };
                }
                catch (BrokerException e)
                {
                    // The topic was terminated, or the batch overlaps ids stored already: it was not stored, and sending it again will not help.
                    error = new SendError { SequenceId = send.SequenceId, Code = ErrorCode.InvalidMessage, Message = e.Message };
                }
                catch (ManagedLedgerException e)
                {
                    BrokerLog.PublishFailed(logger, topic.Name.ToString(), e);
                    error = new SendError { SequenceId = send.SequenceId, Code = ErrorCode.StorageError, Message = $"The batch was not stored: {e.Message} Send it again." };
                }
            }
            var hasNext = pending.TryPeek(out var next);
            var nextStored = hasNext && next.Refused is null && next.Stored.IsCompleted;
            var nextReady = nextStored || (hasNext && next.Refused is not null);
            if (error is not null)
            {
                if (receipts.GroupCount > 0)
                    await WriteGroupAsync(more: true).ConfigureAwait(false);
                await responses.WriteAsync(new ProduceResponse { Error = error }, nextReady, cancellationToken).ConfigureAwait(false);
            }
            else if (groupReceipts)
            {
                receipts.Add(send.SequenceId, position, topic.Name.PartitionIndex, send.Messages);
                // The next send is stored already: its receipt joins this one (a failed store ends the group above).
                if (nextStored && receipts.GroupCount < MaxGroupedReceipts)
                    continue;
                await WriteGroupAsync(nextReady).ConfigureAwait(false);
            }
            else
            {
                await responses.WriteAsync(receipts.For(send.SequenceId, position, topic.Name.PartitionIndex, send.Messages), nextReady, cancellationToken).ConfigureAwait(false);
            }
        }

        // The group's response is reused: it is emptied only once written.
        async Task WriteGroupAsync(bool more)
        {
            await responses.WriteAsync(receipts.TakeGroup(), more, cancellationToken).ConfigureAwait(false);
            receipts.ClearGroup();
        }
    }

    /// <summary>
    /// The receipts of one producer stream: one response, refilled for every receipt, rather than three objects
    /// (ProduceResponse, SendReceipt, MessageId) per send; and for grouped receipts one SendReceipts response whose
    /// receipts are reused from group to group. Sound because the answering loop awaits each write
    /// before it builds the next receipt, and Grpc.AspNetCore encodes a message before its write completes; a
    /// transport that kept the message object after the write (the in-process one of Tiered.Proto.Streams
    /// does) must not be given these. Only the answering loop uses it.
    /// </summary>
    internal sealed class Receipts
    {
        private readonly MessageId _id = new();
        private readonly SendReceipt _receipt;
        private readonly ProduceResponse _response;
        private readonly List<SendReceipt> _spare = [];
        private readonly SendReceipts _group = new();
        private readonly ProduceResponse _groupResponse;

        public Receipts()
        {
            _receipt = new SendReceipt { MessageId = _id };
            _response = new ProduceResponse { Receipt = _receipt };
            _groupResponse = new ProduceResponse { Receipts = _group };
        }

        /// <summary>Receipts added to the group since it was last cleared.</summary>
        public int GroupCount => _group.Receipts.Count;

        public ProduceResponse For(ulong sequenceId, Position position, int partition, int messages)
        {
            Fill(_receipt, sequenceId, position, partition, messages);
            return _response;
        }

        /// <summary>Adds a receipt to the group.</summary>
        public void Add(ulong sequenceId, Position position, int partition, int messages)
        {
            var index = _group.Receipts.Count;
            if (index == _spare.Count)
                _spare.Add(new SendReceipt { MessageId = new MessageId() });
            var receipt = _spare[index];
            Fill(receipt, sequenceId, position, partition, messages);
            _group.Receipts.Add(receipt);
        }

        /// <summary>The group as a response: a lone receipt as a plain SendReceipt, several as SendReceipts.</summary>
        public ProduceResponse TakeGroup()
        {
            if (_group.Receipts.Count != 1)
                return _groupResponse;
            var (only, id) = (_group.Receipts[0], _group.Receipts[0].MessageId);
            _receipt.SequenceId = only.SequenceId;
            (_id.LedgerId, _id.EntryId, _id.Partition, _id.BatchSize) = (id.LedgerId, id.EntryId, id.Partition, id.BatchSize);
            return _response;
        }

        /// <summary>Empties the group once its response was written; its receipts are reused by the next.</summary>
        public void ClearGroup() => _group.Receipts.Clear();

        private static void Fill(SendReceipt receipt, ulong sequenceId, Position position, int partition, int messages)
        {
            receipt.SequenceId = sequenceId;
            var id = receipt.MessageId;
            id.LedgerId = position.LedgerId;
            id.EntryId = position.EntryId;
            id.Partition = partition;
            id.BatchSize = messages;
        }
    }

    /// <summary>
    /// Names for producers that chose none: CLUSTER-PREFIX-N, where PREFIX is 64 random bits drawn when the broker
    /// starts (13 base32 characters) and N counts up. Two brokers, or one broker before and after a restart, draw
    /// different prefixes (a process id would not do: it is 1 in every container), so a name is never handed out
    /// twice and de-duplication by producer name stays sound.
    /// </summary>
    internal sealed class ProducerNames
    {
        private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

        private long _next;

        public ProducerNames()
        {
            Span<byte> bits = stackalloc byte[sizeof(ulong)];
            System.Security.Cryptography.RandomNumberGenerator.Fill(bits);
            Prefix = Base32(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bits));
        }

        public string Prefix { get; }

        public string Next(string cluster) => $"{cluster}-{Prefix}-{Interlocked.Increment(ref _next)}";

        /// <summary>13 characters of Crockford's base32 alphabet (no i, l, o, u), most significant first.</summary>
        internal static string Base32(ulong value) => string.Create(13, value, static (chars, v) =>
        {
            for (var i = chars.Length - 1; i >= 0; i--)
            {
                chars[i] = Alphabet[(int)(v & 31)];
                v >>= 5;
            }
        });
    }
}
