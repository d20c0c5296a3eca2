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
        if (payload.IsSingleSegment)
            return Decode(payload.FirstSpan);
        // A request the transport received in pieces (a large one): decoded from one pooled copy.
        var length = checked((int)payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(buffer);
            return Decode(buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ProduceFrame Decode(ReadOnlySpan<byte> payload)
    {
        var frame = new ProduceFrame();
        var at = 0;
        while (at < payload.Length)
        {
            var (field, wireType) = ReadTag(payload, ref at);
            if (field == 1 && wireType == 2)
            {
                var open = OpenProducer.Parser.ParseFrom(ReadLengthDelimited(payload, ref at));
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
                var send = ReadLengthDelimited(payload, ref at);
                if (frame.RequestCase != Wire.ProduceRequest.RequestOneofCase.Send)
                {
                    frame.Clear();
                    frame.RequestCase = Wire.ProduceRequest.RequestOneofCase.Send;
                }
                frame.MergeSend(send);
            }
            else
            {
                Skip(payload, ref at, wireType);
            }
        }
        return frame;
    }

    private void Clear() => (Open, SequenceId, Batch) = (null, 0, NoBatch);

    private void MergeSend(ReadOnlySpan<byte> send)
    {
        var at = 0;
        while (at < send.Length)
        {
            var (field, wireType) = ReadTag(send, ref at);
            if (field == 1 && wireType == 0)
            {
                SequenceId = ReadVarint(send, ref at);
            }
            else if (field == 2 && wireType == 2)
            {
                var batch = ReadLengthDelimited(send, ref at);
                // The one copy of a send: the request's buffer is the transport's, reused after this returns.
                Batch = batch.IsEmpty ? NoBatch : batch.ToArray();
            }
            else
            {
                Skip(send, ref at, wireType);
            }
        }
    }

    private static (uint Field, uint WireType) ReadTag(ReadOnlySpan<byte> data, ref int at)
    {
        var tag = ReadVarint(data, ref at);
        if (tag > uint.MaxValue || tag >> 3 == 0)
            throw new FormatException($"The message has an invalid tag ({tag}).");
        return ((uint)(tag >> 3), (uint)(tag & 7));
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= data.Length)
                throw Truncated();
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return value;
        }
        throw new FormatException("The message has a malformed varint (more than 10 bytes).");
    }

    private static ReadOnlySpan<byte> ReadLengthDelimited(ReadOnlySpan<byte> data, ref int at)
    {
        var length = ReadVarint(data, ref at);
        if (length > (ulong)(data.Length - at))
            throw Truncated();
        var body = data.Slice(at, (int)length);
        at += (int)length;
        return body;
    }

    private static void Skip(ReadOnlySpan<byte> data, ref int at, uint wireType)
    {
        switch (wireType)
        {
            case 0:
                ReadVarint(data, ref at);
                break;
            case 1:
                Advance(data, ref at, 8);
                break;
            case 2:
                ReadLengthDelimited(data, ref at);
                break;
            case 5:
                Advance(data, ref at, 4);
                break;
            default:
                // Groups (3, 4) do not exist in proto3, and 6 and 7 in no protobuf.
                throw new FormatException($"The message has a field of wire type {wireType}, which proto3 does not use.");
        }
    }

    private static void Advance(ReadOnlySpan<byte> data, ref int at, int count)
    {
        if (data.Length - at < count)
            throw Truncated();
        at += count;
    }

    private static FormatException Truncated() => new("The message is truncated.");
}
