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
/// Produce method's marshaller does, de-duplication's check of its sequence id, and encoding its receipt.
/// </summary>
public class ProducePathBench
{
    private const string Producer = "bench-producer";

    private readonly BenchDeserializationContext _request = new();
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
        var deserializer = MessagingMethods.ServedProduce.RequestMarshaller.ContextualDeserializer;
        _parse = context => deserializer(context);
        _writeResponse = MessagingMethods.Produce.ResponseMarshaller.ContextualSerializer;
        _receipts = new MessagingService.Receipts();
        _dedup = new Tiered.Broker.Topics.Deduplication(null, _publishing, TimeProvider.System, NullLogger.Instance);
    }

    /// <summary>The request as the broker's gRPC service receives it.</summary>
    [Benchmark]
    public object ParseSend() => _parse(_request);

    /// <summary>The receipt of a stored batch, built and encoded as the answering loop does.</summary>
    [Benchmark]
    public int EncodeReceipt()
    {
        _response.Reset();
        _writeResponse(_receipts.For(12345, new Position(7, 1), -1, 1), _response);
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
