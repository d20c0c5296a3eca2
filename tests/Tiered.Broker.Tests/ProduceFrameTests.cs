using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Tiered.Broker.Service;
using Tiered.Testing;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

namespace Tiered.Broker.Tests;

/// <summary>
/// The broker decodes Produce requests by hand (<see cref="ProduceFrame"/>): it must read every encoding the
/// generated parser reads, alike, and refuse what it refuses.
/// </summary>
public class ProduceFrameTests
{
    [Fact]
    public void A_send_decodes_to_its_sequence_id_and_the_batch_bytes_unchanged()
    {
        var batch = RawProducer.Batch(["one", "two"]);
        var frame = Decode(new ProduceRequest { Send = new SendBatch { SequenceId = 1UL << 40, Batch = batch } }.ToByteArray());
        Assert.Equal(Wire.ProduceRequest.RequestOneofCase.Send, frame.RequestCase);
        Assert.Equal(1UL << 40, frame.SequenceId);
        Assert.Equal(batch.ToByteArray(), frame.Batch);
        Assert.Null(frame.Open);
    }

    [Fact]
    public void An_open_decodes_to_its_OpenProducer()
    {
        var open = new OpenProducer { Topic = "persistent://public/default/t", ProducerName = "p-1", ReplicatedFrom = "east" };
        var frame = Decode(new ProduceRequest { Open = open }.ToByteArray());
        Assert.Equal(Wire.ProduceRequest.RequestOneofCase.Open, frame.RequestCase);
        Assert.Equal(open, frame.Open);
        Assert.Empty(frame.Batch);
    }

    [Fact]
    public void Split_buffers_unknown_fields_repeated_members_and_the_last_oneof_member_decode_as_the_generated_parser_does()
    {
        var batch = RawProducer.Batch(["x"]).ToByteArray();
        var output = new MemoryStream();
        var coded = new CodedOutputStream(output);
        // An unknown varint, fixed64, fixed32 and bytes field around the members; SendBatch twice (merged: the last
        // value of each field wins) with an unknown field inside; an Open before them that the Send replaces.
        coded.WriteTag(9, WireFormat.WireType.Varint);
        coded.WriteUInt64(ulong.MaxValue);
        coded.WriteTag(1, WireFormat.WireType.LengthDelimited);
        coded.WriteMessage(new OpenProducer { Topic = "ignored" });
        coded.WriteTag(10, WireFormat.WireType.Fixed64);
        coded.WriteFixed64(5);
        coded.WriteTag(2, WireFormat.WireType.LengthDelimited);
        coded.WriteMessage(new Wire.SendBatch { SequenceId = 3, Batch = ByteString.CopyFrom(1, 2, 3) });
        coded.WriteTag(11, WireFormat.WireType.Fixed32);
        coded.WriteFixed32(6);
        var second = new MemoryStream();
        var inner = new CodedOutputStream(second);
        inner.WriteTag(2, WireFormat.WireType.LengthDelimited);
        inner.WriteBytes(ByteString.CopyFrom(batch));
        inner.WriteTag(7, WireFormat.WireType.LengthDelimited);
        inner.WriteString("unknown");
        inner.Flush();
        coded.WriteTag(2, WireFormat.WireType.LengthDelimited);
        coded.WriteBytes(ByteString.CopyFrom(second.ToArray()));
        coded.Flush();
        var bytes = output.ToArray();

        var expected = Wire.ProduceRequest.Parser.ParseFrom(bytes);
        // In three segments, split inside varints and the batch.
        var frame = ProduceFrame.Parse(Segmented(bytes, 3, bytes.Length - 5));
        Assert.Equal(expected.RequestCase, frame.RequestCase);
        Assert.Equal(expected.Send.SequenceId, frame.SequenceId);
        Assert.Equal(3UL, frame.SequenceId);
        Assert.Equal(expected.Send.Batch.ToByteArray(), frame.Batch);
        Assert.Equal(batch, frame.Batch);
    }

    [Theory]
    [InlineData(new byte[] { 0x12, 0x05, 0x08 })]               // send: length past the end
    [InlineData(new byte[] { 0x12, 0x01, 0x08 })]               // send: sequence id varint cut short
    [InlineData(new byte[] { 0x12, 0x02, 0x08, 0x80 })]         // send: varint cut short
    [InlineData(new byte[] { 0x00 })]                           // field number 0
    [InlineData(new byte[] { 0x0B })]                           // a group (wire type 3)
    [InlineData(new byte[] { 0x0A, 0x02, 0x0A, 0x01 })]         // open: topic longer than its message
    [InlineData(new byte[] { 0x0A, 0x03, 0x0A, 0x01, 0xFF })]   // open: topic not UTF-8
    public void Malformed_requests_are_refused_as_invalid_arguments(byte[] bytes)
    {
        Assert.ThrowsAny<Exception>(() => Wire.ProduceRequest.Parser.ParseFrom(bytes));
        var e = Assert.Throws<RpcException>(() => ProduceFrame.Parse(new ReadOnlySequence<byte>(bytes)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("not a valid tiered.v1.ProduceRequest", e.Status.Detail);
    }

    private static ProduceFrame Decode(byte[] bytes) => ProduceFrame.Parse(new ReadOnlySequence<byte>(bytes));

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, params int[] cuts)
    {
        var first = new Segment(bytes.AsMemory(0, cuts[0]), 0);
        var last = first;
        var start = cuts[0];
        foreach (var cut in cuts.Skip(1).Append(bytes.Length))
        {
            last = last.Append(bytes.AsMemory(start, cut - start));
            start = cut;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex) => (Memory, RunningIndex) = (memory, runningIndex);

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
