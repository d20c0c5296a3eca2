using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Tiered.Broker.Service;
using Tiered.ManagedLedgers;
using Tiered.V1;

namespace Tiered.Bench.Micro;

/// <summary>
/// The broker's share of one unbatched send (workload 1: a 100 B message): decoding the SendBatch request as the
/// Produce method's marshaller does (alone, or in a SendBatches group of 16), de-duplication's check of its sequence
/// id, and encoding its receipt (alone, or in a SendReceipts group of 16). The group benchmarks report per send.
/// </summary>
public class ProducePathBench
{
    private const string Producer = "bench-producer";

    /// <summary>Sends per group in the group benchmarks.</summary>
    private const int Group = 16;

    private readonly BenchDeserializationContext _request = new();
    private readonly BenchDeserializationContext _groupRequest = new();
    private readonly BenchSerializationContext _response = new();
    private readonly Lock _publishing = new();
    private readonly Task<Position> _stored = Task.FromResult(new Position(7, 1));
    private Func<DeserializationContext, object> _parse = null!;
    private Action<ProduceResponse, SerializationContext> _writeResponse = null!;
    private MessagingService.Receipts _receipts = null!;
    private Tiered.Broker.Topics.Deduplication _dedup = null!;
    private long _sequence;

    [GlobalSetup]
    public void Setup()
    {
        var batch = new MessageBatch
        {
            FormatVersion = 1, ProducerName = Producer, SequenceId = 12345, PublishTimeMs = 1_700_000_000_000,
            Messages = { new Message { Payload = ByteString.CopyFrom(new byte[100]) } },
        };
        _request.Payload = new ProduceRequest { Send = new SendBatch { SequenceId = 12345, Batch = batch } }.ToByteArray();
        var group = new SendBatches();
        for (var i = 0; i < Group; i++)
        {
            var one = batch.Clone();
            one.SequenceId = 12345 + (ulong)i;
            group.Sends.Add(new SendBatch { SequenceId = one.SequenceId, Batch = one });
        }
        _groupRequest.Payload = new ProduceRequest { Sends = group }.ToByteArray();
        var deserializer = MessagingMethods.ServedProduce.RequestMarshaller.ContextualDeserializer;
        _parse = context => deserializer(context);
        _writeResponse = MessagingMethods.Produce.ResponseMarshaller.ContextualSerializer;
        _receipts = new MessagingService.Receipts();
        _dedup = new Tiered.Broker.Topics.Deduplication(null, _publishing, TimeProvider.System, NullLogger.Instance);
    }

    /// <summary>The request as the broker's gRPC service receives it; the service hands the frame back once it took the send.</summary>
    [Benchmark]
    public object ParseSend()
    {
        var frame = (ProduceFrame)_parse(_request);
        frame.Return();
        return frame;
    }

    /// <summary>A SendBatches request of 16 sends as the service receives it, per send.</summary>
    [Benchmark(OperationsPerInvoke = Group)]
    public object ParseGroupOf16()
    {
        var frame = (ProduceFrame)_parse(_groupRequest);
        frame.Return();
        return frame;
    }

    /// <summary>The receipt of a stored batch, built and encoded as the answering loop does.</summary>
    [Benchmark]
    public int EncodeReceipt()
    {
        _response.Reset();
        _writeResponse(_receipts.For(12345, new Position(7, 1), -1, 1), _response);
        return _response.Written;
    }

    /// <summary>16 receipts ready together, built and encoded as one SendReceipts response as the answering loop does, per receipt.</summary>
    [Benchmark(OperationsPerInvoke = Group)]
    public int EncodeGroupedReceipts()
    {
        _response.Reset();
        for (var i = 0; i < Group; i++)
            _receipts.Add(12345 + (ulong)i, new Position(7, 1 + i), -1, 1);
        _writeResponse(_receipts.TakeGroup(), _response);
        _receipts.ClearGroup();
        return _response.Written;
    }

    /// <summary>De-duplication's part of publishing a new batch: take in completed adds, check, record.</summary>
    [Benchmark]
    public int DeduplicationCheck()
    {
        var sequence = _sequence++;
        lock (_publishing)
        {
            _dedup.Drain();
            var verdict = _dedup.Check(Producer, sequence, sequence, out _);
            _dedup.Pushed(Producer, sequence, sequence, AddHandle.Of(_stored));
            return (int)verdict;
        }
    }

    private sealed class BenchDeserializationContext : DeserializationContext
    {
        public byte[] Payload { get; set; } = [];

        public override int PayloadLength => Payload.Length;

        public override byte[] PayloadAsNewBuffer() => Payload.ToArray();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(Payload);
    }

    private sealed class BenchSerializationContext : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);

        public int Written => _buffer.WrittenCount;

        public void Reset() => _buffer.ResetWrittenCount();

        public override void Complete(byte[] payload) => _buffer.Write(payload);

        public override IBufferWriter<byte> GetBufferWriter() => _buffer;

        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override void Complete()
        {
        }
    }
}
