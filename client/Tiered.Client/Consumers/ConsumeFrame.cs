using System.Buffers;
using System.Collections.ObjectModel;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Tiered.Proto.Coding;
using Tiered.V1;

namespace Tiered.Client.Consumers;

/// <summary>
/// One response of the Consume stream as this client reads it. A Delivery is decoded straight from the bytes gRPC
/// read into the <see cref="ReceivedMessage"/>s of its batch: one object and one payload copy per message, where the
/// generated parser made a Message, a ByteString, a properties map (a dictionary and a linked list even when empty),
/// and the consumer then a ReceivedMessage. Any other response (Subscribed, AckReceipt, ActiveConsumerChanged) is
/// parsed by the generated code into <see cref="Response"/>.
/// </summary>
internal sealed class ConsumeFrame
{
    private static readonly IReadOnlyDictionary<string, string> NoProperties = ReadOnlyDictionary<string, string>.Empty;

    /// <summary>The Consume method with this client's reading of its responses; requests are the generated ConsumeRequest.</summary>
    public static readonly Method<ConsumeRequest, ConsumeFrame> Method = new(
        MethodType.DuplexStreaming,
        Messaging.Descriptor.FullName,
        "Consume",
        Marshallers.Create<ConsumeRequest>(
            (request, context) =>
            {
                context.SetPayloadLength(request.CalculateSize());
                request.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => ConsumeRequest.Parser.ParseFrom(context.PayloadAsReadOnlySequence())),
        Marshallers.Create<ConsumeFrame>(
            (_, _) => throw new NotSupportedException("The client does not send Consume responses."),
            context => Decode(context.PayloadAsReadOnlySequence())));

    /// <summary>A response other than a Delivery; null for a Delivery.</summary>
    public ConsumeResponse? Response { get; private init; }

    /// <summary>The delivered entry's ledger and entry ids.</summary>
    public long LedgerId { get; set; }

    public long EntryId { get; set; }

    public bool HasMessageId { get; private set; }

    public bool HasBatch { get; private set; }

    public uint FormatVersion { get; private set; }

    public int RedeliveryCount { get; private set; }

    /// <summary>Batch indexes already acknowledged (the consumer skips them); empty for most deliveries.</summary>
    public int[] AckedBatchIndexes { get; private set; } = [];

    /// <summary>
    /// The batch's messages, in batch order, each still to be given its topic and id (<see cref="ReceivedMessage.Bind"/>).
    /// The consumer clears the slots of the ones it drops and queues the array itself.
    /// </summary>
    public ReceivedMessage?[] Messages { get; private set; } = [];

    /// <summary>Decodes a Consume response; a Delivery without the generated parser, anything else with it.</summary>
    public static ConsumeFrame Decode(ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
            return Decode(payload.FirstSpan, payload);
        var copy = payload.ToArray();
        return Decode(copy, payload);
    }

    private static ConsumeFrame Decode(ReadOnlySpan<byte> data, ReadOnlySequence<byte> payload)
    {
        // A ConsumeResponse is a oneof: a delivery is field 2 and the only field present.
        var at = 0;
        if (!WireReader.TryReadTag(data, ref at, out var field, out var wireType) || field != 2 || wireType != 2
            || !WireReader.TryReadLength(data, ref at, out var length) || at + length != data.Length)
        {
            var response = ConsumeResponse.Parser.ParseFrom(payload);
            if (response.ResponseCase != ConsumeResponse.ResponseOneofCase.Delivery)
                return new ConsumeFrame { Response = response };
            // A delivery with more than the field (unknown fields of a newer broker): decoded from its own encoding.
            var delivery = new ConsumeFrame();
            delivery.ReadDelivery(response.Delivery.ToByteArray());
            return delivery;
        }
        var frame = new ConsumeFrame();
        frame.ReadDelivery(data.Slice(at, length));
        return frame;
    }

    private void ReadDelivery(ReadOnlySpan<byte> data)
    {
        var at = 0;
        ReadOnlySpan<byte> batch = default;
        List<int>? acked = null;
        while (at < data.Length)
        {
            WireReader.ReadTag(data, ref at, out var field, out var wireType);
            switch (field, wireType)
            {
                case (1, 2):
                    ReadEntryId(WireReader.ReadBytes(data, ref at));
                    HasMessageId = true;
                    break;
                case (2, 0):
                    RedeliveryCount = (int)WireReader.ReadVarint(data, ref at);
                    break;
                case (3, 2):
                    var packed = WireReader.ReadBytes(data, ref at);
                    for (var p = 0; p < packed.Length;)
                        (acked ??= []).Add((int)WireReader.ReadVarint(packed, ref p));
                    break;
                case (3, 0):
                    (acked ??= []).Add((int)WireReader.ReadVarint(data, ref at));
                    break;
                case (4, 2):
                    batch = WireReader.ReadBytes(data, ref at);
                    HasBatch = true;
                    break;
                default:
                    WireReader.Skip(data, ref at, wireType);
                    break;
            }
        }
        if (acked is not null)
            AckedBatchIndexes = [.. acked];
        if (HasBatch)
            ReadBatch(batch);
    }

    private void ReadEntryId(ReadOnlySpan<byte> data)
    {
        var at = 0;
        while (at < data.Length)
        {
            WireReader.ReadTag(data, ref at, out var field, out var wireType);
            switch (field, wireType)
            {
                case (1, 0):
                    LedgerId = (long)WireReader.ReadVarint(data, ref at);
                    break;
                case (2, 0):
                    EntryId = (long)WireReader.ReadVarint(data, ref at);
                    break;
                default:
                    WireReader.Skip(data, ref at, wireType);
                    break;
            }
        }
    }

    private void ReadBatch(ReadOnlySpan<byte> data)
    {
        // First the header fields and the number of messages (the array is made once, to size), then the messages.
        var producerName = "";
        ulong sequenceId = 0;
        long publishTimeMs = 0;
        var count = 0;
        var at = 0;
        while (at < data.Length)
        {
            WireReader.ReadTag(data, ref at, out var field, out var wireType);
            switch (field, wireType)
            {
                case (1, 0):
                    FormatVersion = (uint)WireReader.ReadVarint(data, ref at);
                    break;
                case (2, 2):
                    producerName = Encoding.UTF8.GetString(WireReader.ReadBytes(data, ref at));
                    break;
                case (3, 0):
                    sequenceId = WireReader.ReadVarint(data, ref at);
                    break;
                case (4, 0):
                    publishTimeMs = (long)WireReader.ReadVarint(data, ref at);
                    break;
                case (15, 2):
                    WireReader.ReadBytes(data, ref at);
                    count++;
                    break;
                default:
                    WireReader.Skip(data, ref at, wireType);
                    break;
            }
        }
        if (count == 0)
            return;
        var messages = new ReceivedMessage?[count];
        var index = 0;
        at = 0;
        while (at < data.Length)
        {
            WireReader.ReadTag(data, ref at, out var field, out var wireType);
            if (field == 15 && wireType == 2)
            {
                messages[index] = ReadMessage(WireReader.ReadBytes(data, ref at), count, producerName, sequenceId + (ulong)index, publishTimeMs);
                index++;
            }
            else
                WireReader.Skip(data, ref at, wireType);
        }
        Messages = messages;
    }

    private static ReceivedMessage ReadMessage(ReadOnlySpan<byte> data, int batchSize, string producerName, ulong sequenceId, long publishTimeMs)
    {
        byte[] payload = [];
        string? key = null;
        Dictionary<string, string>? properties = null;
        long eventTimeMs = 0;
        var at = 0;
        while (at < data.Length)
        {
            WireReader.ReadTag(data, ref at, out var field, out var wireType);
            switch (field, wireType)
            {
                case (1, 2):
                    // The payload must outlive gRPC's (pooled) read buffer: one copy, not zeroed first.
                    var bytes = WireReader.ReadBytes(data, ref at);
                    payload = bytes.Length == 0 ? [] : GC.AllocateUninitializedArray<byte>(bytes.Length);
                    bytes.CopyTo(payload);
                    break;
                case (2, 2):
                    var keyBytes = WireReader.ReadBytes(data, ref at);
                    key = keyBytes.Length == 0 ? null : Encoding.UTF8.GetString(keyBytes);
                    break;
                case (3, 2):
                    var (name, value) = ReadProperty(WireReader.ReadBytes(data, ref at));
                    (properties ??= [])[name] = value;
                    break;
                case (4, 0):
                    eventTimeMs = (long)WireReader.ReadVarint(data, ref at);
                    break;
                default:
                    WireReader.Skip(data, ref at, wireType);
                    break;
            }
        }
        return new ReceivedMessage(batchSize, payload, key, properties ?? NoProperties, publishTimeMs, eventTimeMs, producerName, sequenceId);
    }

    private static (string Name, string Value) ReadProperty(ReadOnlySpan<byte> data)
    {
        string name = "", value = "";
        var at = 0;
        while (at < data.Length)
        {
            WireReader.ReadTag(data, ref at, out var field, out var wireType);
            switch (field, wireType)
            {
                case (1, 2):
                    name = Encoding.UTF8.GetString(WireReader.ReadBytes(data, ref at));
                    break;
                case (2, 2):
                    value = Encoding.UTF8.GetString(WireReader.ReadBytes(data, ref at));
                    break;
                default:
                    WireReader.Skip(data, ref at, wireType);
                    break;
            }
        }
        return (name, value);
    }
}

/// <summary>Protobuf wire reading in place, for <see cref="ConsumeFrame"/>; a malformed frame throws (gRPC then fails the call, as with the generated parser).</summary>
internal static class WireReader
{
    public static bool TryReadTag(ReadOnlySpan<byte> data, ref int at, out int field, out int wireType)
    {
        field = wireType = 0;
        if (!Varint.TryRead(data, ref at, out var tag) || tag > int.MaxValue)
            return false;
        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        return field > 0;
    }

    public static bool TryReadLength(ReadOnlySpan<byte> data, ref int at, out int length)
    {
        length = 0;
        if (!Varint.TryRead(data, ref at, out var value) || value > (ulong)(data.Length - at))
            return false;
        length = (int)value;
        return true;
    }

    public static void ReadTag(ReadOnlySpan<byte> data, ref int at, out int field, out int wireType)
    {
        if (!TryReadTag(data, ref at, out field, out wireType))
            throw Malformed();
    }

    public static ulong ReadVarint(ReadOnlySpan<byte> data, ref int at)
        => Varint.TryRead(data, ref at, out var value) ? value : throw Malformed();

    public static ReadOnlySpan<byte> ReadBytes(ReadOnlySpan<byte> data, scoped ref int at)
    {
        if (!TryReadLength(data, ref at, out var length))
            throw Malformed();
        var bytes = data.Slice(at, length);
        at += length;
        return bytes;
    }

    public static void Skip(ReadOnlySpan<byte> data, ref int at, int wireType)
    {
        if (!Varint.TrySkipValue(data, ref at, wireType))
            throw Malformed();
    }

    private static InvalidDataException Malformed() => new("A Consume response from the broker is malformed (cut off, or a field of an unknown wire type).");
}
