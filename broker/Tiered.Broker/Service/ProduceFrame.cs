using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Service;

/// <summary>
/// One message of a Produce stream (tiered.v1.ProduceRequest) as the broker's service decodes it: an OpenProducer,
/// a SendBatch as its sequence id and the batch's bytes, or a group of them (SendBatches). Decoded by hand so that
/// a send costs one copy of the batch (which the ledger's entry cache then keeps), where the generated
/// <see cref="Wire.ProduceRequest"/> took four objects (the request, its SendBatch, a ByteString and the bytes).
/// The bytes must be copied: the gRPC request buffer they arrive in is reused once the message is decoded.
/// Frames are pooled: the service hands one back with <see cref="Return"/> once it took its sends, and the next
/// request decoded reuses it, with its list of grouped sends.
/// Decodes exactly what the generated parser does (the wire format of client.proto and broker_wire.proto):
/// unknown fields are skipped, a oneof member repeated is merged (a group's sends appended), the last member
/// of the oneof wins.
/// </summary>
public sealed class ProduceFrame
{
    /// <summary>Frames kept for reuse: about one per request being decoded or served at once.</summary>
    private const int PoolSize = 64;

    /// <summary>A frame whose group list grew beyond this many sends is not pooled, so that one huge group holds no memory for good.</summary>
    private const int MaxPooledSends = 1024;

    private static readonly byte[] NoBatch = [];
    private static readonly ProduceFrame?[] Pool = new ProduceFrame?[PoolSize];

    private GroupedSend[] _sends = [];
    private int _sendCount;

    private ProduceFrame()
    {
    }

    /// <summary>Which member of the request's oneof was sent (<c>None</c> for an empty message).</summary>
    public Wire.ProduceRequest.RequestOneofCase RequestCase { get; private set; }

    /// <summary>Set when <see cref="RequestCase"/> is Open.</summary>
    public OpenProducer? Open { get; private set; }

    /// <summary>SendBatch.sequence_id (when <see cref="RequestCase"/> is Send).</summary>
    public ulong SequenceId { get; private set; }

    /// <summary>SendBatch.batch: the encoded MessageBatch, stored as it is (when <see cref="RequestCase"/> is Send).</summary>
    public byte[] Batch { get; private set; } = NoBatch;

    /// <summary>How many sends a group holds (when <see cref="RequestCase"/> is Sends); 0 for an empty group, which the service refuses.</summary>
    public int SendCount => _sendCount;

    /// <summary>The group's sends, in the order sent.</summary>
    public ReadOnlySpan<GroupedSend> Sends => _sends.AsSpan(0, _sendCount);

    /// <summary>Send <paramref name="index"/> of the group (for loops that await between sends, where a span cannot live).</summary>
    public GroupedSend SendAt(int index) => Sends[index];

    /// <summary>A send (tests and benchmarks build requests with it; the service only decodes them).</summary>
    internal static ProduceFrame Send(ulong sequenceId, byte[] batch)
        => new() { RequestCase = Wire.ProduceRequest.RequestOneofCase.Send, SequenceId = sequenceId, Batch = batch };

    /// <summary>
    /// Hands the frame back for reuse once the service is done with it (it keeps only the batches' arrays, never the
    /// frame). A frame not returned is merely collected.
    /// </summary>
    public void Return()
    {
        Clear();
        if (_sends.Length > MaxPooledSends)
            _sends = [];
        for (var i = 0; i < Pool.Length; i++)
        {
            if (Interlocked.CompareExchange(ref Pool[i], this, null) is null)
                return;
        }
    }

    private static ProduceFrame Rent()
    {
        for (var i = 0; i < Pool.Length; i++)
        {
            if (Volatile.Read(ref Pool[i]) is { } frame && Interlocked.CompareExchange(ref Pool[i], null, frame) == frame)
                return frame;
        }
        return new ProduceFrame();
    }

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
        var frame = Rent();
        try
        {
            frame.DecodeFrom(payload);
            return frame;
        }
        catch
        {
            frame.Return();
            throw;
        }
    }

    private void DecodeFrom(ReadOnlySpan<byte> payload)
    {
        var at = 0;
        while (at < payload.Length)
        {
            var (field, wireType) = ReadTag(payload, ref at);
            if (field == 1 && wireType == 2)
            {
                var open = OpenProducer.Parser.ParseFrom(ReadLengthDelimited(payload, ref at));
                if (RequestCase == Wire.ProduceRequest.RequestOneofCase.Open)
                {
                    Open!.MergeFrom(open);
                }
                else
                {
                    Clear();
                    (RequestCase, Open) = (Wire.ProduceRequest.RequestOneofCase.Open, open);
                }
            }
            else if (field == 2 && wireType == 2)
            {
                var send = ReadLengthDelimited(payload, ref at);
                if (RequestCase != Wire.ProduceRequest.RequestOneofCase.Send)
                {
                    Clear();
                    RequestCase = Wire.ProduceRequest.RequestOneofCase.Send;
                }
                var (sequenceId, batch) = (SequenceId, Batch);
                MergeSend(send, ref sequenceId, ref batch);
                (SequenceId, Batch) = (sequenceId, batch);
            }
            else if (field == 3 && wireType == 2)
            {
                var group = ReadLengthDelimited(payload, ref at);
                if (RequestCase != Wire.ProduceRequest.RequestOneofCase.Sends)
                {
                    Clear();
                    RequestCase = Wire.ProduceRequest.RequestOneofCase.Sends;
                }
                // A second SendBatches member merges into the first: its sends are appended.
                MergeGroup(group);
            }
            else
            {
                Skip(payload, ref at, wireType);
            }
        }
    }

    private void Clear()
    {
        (RequestCase, Open, SequenceId, Batch) = (Wire.ProduceRequest.RequestOneofCase.None, null, 0, NoBatch);
        // The batches belong to the ledger now: the pooled list must not keep them alive.
        Array.Clear(_sends, 0, _sendCount);
        _sendCount = 0;
    }

    /// <summary>SendBatches: each sends member (field 1) is one more send; anything else is skipped.</summary>
    private void MergeGroup(ReadOnlySpan<byte> group)
    {
        var at = 0;
        while (at < group.Length)
        {
            var (field, wireType) = ReadTag(group, ref at);
            if (field == 1 && wireType == 2)
            {
                var send = ReadLengthDelimited(group, ref at);
                ulong sequenceId = 0;
                var batch = NoBatch;
                MergeSend(send, ref sequenceId, ref batch);
                if (_sendCount == _sends.Length)
                    Array.Resize(ref _sends, Math.Max(16, _sends.Length * 2));
                _sends[_sendCount++] = new GroupedSend(sequenceId, batch);
            }
            else
            {
                Skip(group, ref at, wireType);
            }
        }
    }

    /// <summary>A SendBatch's fields over <paramref name="sequenceId"/> and <paramref name="batch"/>: the last value of each wins.</summary>
    private static void MergeSend(ReadOnlySpan<byte> send, ref ulong sequenceId, ref byte[] batch)
    {
        var at = 0;
        while (at < send.Length)
        {
            var (field, wireType) = ReadTag(send, ref at);
            if (field == 1 && wireType == 0)
            {
                sequenceId = ReadVarint(send, ref at);
            }
            else if (field == 2 && wireType == 2)
            {
                var bytes = ReadLengthDelimited(send, ref at);
                // The one copy of a send: the request's buffer is the transport's, reused after this returns. The new
                // array is not zeroed first (the copy fills it): a batch of ~100 KB is a large object, which would be.
                batch = NoBatch;
                if (!bytes.IsEmpty)
                {
                    batch = GC.AllocateUninitializedArray<byte>(bytes.Length);
                    bytes.CopyTo(batch);
                }
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

/// <summary>One send of a SendBatches group: its sequence id and its batch's bytes (copied out of the request).</summary>
public readonly record struct GroupedSend(ulong SequenceId, byte[] Batch);
