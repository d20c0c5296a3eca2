using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

/// <summary>
/// One message of a Produce stream (tiered.v1.ProduceRequest) as the broker's service decodes it: an OpenProducer,
/// or a SendBatch as its sequence id and the batch's bytes. Decoded by hand so that a send costs this object and
/// one copy of the batch (which the ledger's entry cache then keeps), where the generated
/// <see cref="Wire.ProduceRequest"/> took four objects (the request, its SendBatch, a ByteString and the bytes).
/// The bytes must be copied: the gRPC request buffer they arrive in is reused once the message is decoded.
/// Decodes exactly what the generated parser does (the wire format of client.proto and broker_wire.proto):
/// unknown fields are skipped, a oneof member repeated is merged, the last member of the oneof wins.
/// </summary>
public sealed class ProduceFrame
{
    private static readonly byte[] NoBatch = [];

    private ProduceFrame()
    {
    }

    /// <summary>Which member of the request's oneof was sent (<c>None</c> for an empty message).</summary>
    public Wire.ProduceRequest.RequestOneofCase RequestCase { get; private set; }

    /// <summary>Set when <see cref="RequestCase"/> is Open.</summary>
    public OpenProducer? Open { get; private set; }

    /// <summary>SendBatch.sequence_id.</summary>
    public ulong SequenceId { get; private set; }

    /// <summary>SendBatch.batch: the encoded MessageBatch, stored as it is.</summary>
    public byte[] Batch { get; private set; } = NoBatch;

    /// <summary>A send (tests and benchmarks build requests with it; the service only decodes them).</summary>
    internal static ProduceFrame Send(ulong sequenceId, byte[] batch)
        => new() { RequestCase = Wire.ProduceRequest.RequestOneofCase.Send, SequenceId = sequenceId, Batch = batch };

    /// <summary>Decodes one request; bytes that are not a ProduceRequest end the call with INVALID_ARGUMENT.</summary>
    public static ProduceFrame Parse(ReadOnlySequence<byte> payload)
    {
        try
        {
            return Decode(payload);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or System.Text.DecoderFallbackException or FormatException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"The request is not a valid tiered.v1.ProduceRequest: {e.Message} Send a message encoded from client.proto.", e));
        }
    }

    private static ProduceFrame Decode(ReadOnlySequence<byte> payload)
    {
        var frame = new ProduceFrame();
        var reader = new SequenceReader<byte>(payload);
        while (!reader.End)
        {
            var (field, wireType) = ReadTag(ref reader);
            if (field == 1 && wireType == 2)
            {
                var open = OpenProducer.Parser.ParseFrom(ReadLengthDelimited(ref reader));
                if (frame.RequestCase == Wire.ProduceRequest.RequestOneofCase.Open)
                {
                    frame.Open!.MergeFrom(open);
                }
                else
                {
                    frame.Clear();
                    (frame.RequestCase, frame.Open) = (Wire.ProduceRequest.RequestOneofCase.Open, open);
                }
            }
            else if (field == 2 && wireType == 2)
            {
                var send = ReadLengthDelimited(ref reader);
                if (frame.RequestCase != Wire.ProduceRequest.RequestOneofCase.Send)
                {
                    frame.Clear();
                    frame.RequestCase = Wire.ProduceRequest.RequestOneofCase.Send;
                }
                frame.MergeSend(send);
            }
            else
            {
                Skip(ref reader, wireType);
            }
        }
        return frame;
    }

    private void Clear() => (Open, SequenceId, Batch) = (null, 0, NoBatch);

    private void MergeSend(ReadOnlySequence<byte> send)
    {
        var reader = new SequenceReader<byte>(send);
        while (!reader.End)
        {
            var (field, wireType) = ReadTag(ref reader);
            if (field == 1 && wireType == 0)
            {
                SequenceId = ReadVarint(ref reader);
            }
            else if (field == 2 && wireType == 2)
            {
                var batch = ReadLengthDelimited(ref reader);
                Batch = batch.IsEmpty ? NoBatch : batch.ToArray();
            }
            else
            {
                Skip(ref reader, wireType);
            }
        }
    }

    private static (uint Field, uint WireType) ReadTag(ref SequenceReader<byte> reader)
    {
        var tag = ReadVarint(ref reader);
        if (tag > uint.MaxValue || tag >> 3 == 0)
            throw new FormatException($"The message has an invalid tag ({tag}).");
        return ((uint)(tag >> 3), (uint)(tag & 7));
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
                throw Truncated();
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
        throw new FormatException("The message has a malformed varint (more than 10 bytes).");
    }

    private static ReadOnlySequence<byte> ReadLengthDelimited(ref SequenceReader<byte> reader)
    {
        var length = ReadVarint(ref reader);
        if (length > (ulong)reader.Remaining)
            throw Truncated();
        var body = reader.Sequence.Slice(reader.Position, (long)length);
        reader.Advance((long)length);
        return body;
    }

    private static void Skip(ref SequenceReader<byte> reader, uint wireType)
    {
        switch (wireType)
        {
            case 0:
                ReadVarint(ref reader);
                break;
            case 1:
                Advance(ref reader, 8);
                break;
            case 2:
                ReadLengthDelimited(ref reader);
                break;
            case 5:
                Advance(ref reader, 4);
                break;
            default:
                // Groups (3, 4) do not exist in proto3, and 6 and 7 in no protobuf.
                throw new FormatException($"The message has a field of wire type {wireType}, which proto3 does not use.");
        }
    }

    private static void Advance(ref SequenceReader<byte> reader, int count)
    {
        if (reader.Remaining < count)
            throw Truncated();
        reader.Advance(count);
    }

    private static FormatException Truncated() => new("The message is truncated.");
}
