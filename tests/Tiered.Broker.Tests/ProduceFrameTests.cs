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

    [Fact]
    public void A_group_decodes_to_its_sends_in_order_with_their_bytes_unchanged()
    {
        var group = new SendBatches();
        for (var i = 0; i < 16; i++)
            group.Sends.Add(new SendBatch { SequenceId = 100 + (ulong)i, Batch = RawProducer.Batch([$"m{i}"]) });
        var bytes = new ProduceRequest { Sends = group }.ToByteArray();

        var frame = Decode(bytes);
        Assert.Equal(Wire.ProduceRequest.RequestOneofCase.Sends, frame.RequestCase);
        Assert.Equal(16, frame.SendCount);
        for (var i = 0; i < 16; i++)
        {
            Assert.Equal(100 + (ulong)i, frame.SendAt(i).SequenceId);
            Assert.Equal(group.Sends[i].Batch.ToByteArray(), frame.SendAt(i).Batch);
        }
        // As the generated wire parser reads it, also when the transport hands the request over in pieces.
        var expected = Wire.ProduceRequest.Parser.ParseFrom(bytes);
        var split = ProduceFrame.Parse(Segmented(bytes, 7, bytes.Length / 2, bytes.Length - 3));
        Assert.Equal(expected.Sends.Sends.Select(s => (s.SequenceId, s.Batch.ToByteArray())), split.Sends.ToArray().Select(s => (s.SequenceId, s.Batch)));
    }

    [Fact]
    public void Groups_merge_as_the_generated_parser_merges_them_and_a_later_member_of_the_oneof_replaces_a_group()
    {
        var output = new MemoryStream();
        var coded = new CodedOutputStream(output);
        // Two SendBatches members (appended: 1, 2, then 3), the second with an unknown field around its send, and a
        // send inside it whose fields come twice (the last wins) with an unknown one between.
        coded.WriteTag(3, WireFormat.WireType.LengthDelimited);
        coded.WriteMessage(new Wire.SendBatches { Sends = { new Wire.SendBatch { SequenceId = 1, Batch = ByteString.CopyFrom(1) }, new Wire.SendBatch { SequenceId = 2 } } });
        var group = new MemoryStream();
        var inner = new CodedOutputStream(group);
        inner.WriteTag(5, WireFormat.WireType.Varint);
        inner.WriteUInt64(7);
        var send = new MemoryStream();
        var innermost = new CodedOutputStream(send);
        innermost.WriteTag(1, WireFormat.WireType.Varint);
        innermost.WriteUInt64(99);
        innermost.WriteTag(2, WireFormat.WireType.LengthDelimited);
        innermost.WriteBytes(ByteString.CopyFrom(9, 9));
        innermost.WriteTag(6, WireFormat.WireType.Fixed32);
        innermost.WriteFixed32(1);
        innermost.WriteTag(1, WireFormat.WireType.Varint);
        innermost.WriteUInt64(3);
        innermost.WriteTag(2, WireFormat.WireType.LengthDelimited);
        innermost.WriteBytes(ByteString.CopyFrom(3, 3, 3));
        innermost.Flush();
        inner.WriteTag(1, WireFormat.WireType.LengthDelimited);
        inner.WriteBytes(ByteString.CopyFrom(send.ToArray()));
        inner.Flush();
        coded.WriteTag(3, WireFormat.WireType.LengthDelimited);
        coded.WriteBytes(ByteString.CopyFrom(group.ToArray()));
        coded.Flush();
        var bytes = output.ToArray();

        var expected = Wire.ProduceRequest.Parser.ParseFrom(bytes);
        var frame = Decode(bytes);
        Assert.Equal(expected.RequestCase, frame.RequestCase);
        Assert.Equal([1UL, 2UL, 3UL], expected.Sends.Sends.Select(s => s.SequenceId));
        Assert.Equal(expected.Sends.Sends.Select(s => (s.SequenceId, s.Batch.ToByteArray())), frame.Sends.ToArray().Select(s => (s.SequenceId, s.Batch)));

        // A send after the group replaces it, and a group after a send replaces the send.
        var replaced = Decode([.. bytes, .. new ProduceRequest { Send = new SendBatch { SequenceId = 8 } }.ToByteArray()]);
        Assert.Equal(Wire.ProduceRequest.RequestOneofCase.Send, replaced.RequestCase);
        Assert.Equal(0, replaced.SendCount);
        Assert.Equal(8UL, replaced.SequenceId);
        var regrouped = Decode([.. new ProduceRequest { Send = new SendBatch { SequenceId = 8, Batch = RawProducer.Batch(["x"]) } }.ToByteArray(), .. bytes]);
        Assert.Equal(Wire.ProduceRequest.RequestOneofCase.Sends, regrouped.RequestCase);
        Assert.Equal(3, regrouped.SendCount);
        Assert.Equal(0UL, regrouped.SequenceId);
        Assert.Empty(regrouped.Batch);
    }

    [Fact]
    public void An_empty_group_decodes_as_a_group_of_no_sends_which_the_service_refuses()
    {
        var frame = Decode(new ProduceRequest { Sends = new SendBatches() }.ToByteArray());
        Assert.Equal(Wire.ProduceRequest.RequestOneofCase.Sends, frame.RequestCase);
        Assert.Equal(0, frame.SendCount);
    }

    [Fact]
    public void A_returned_frame_is_reused_without_what_it_held()
    {
        var group = new ProduceRequest { Sends = new SendBatches { Sends = { new SendBatch { SequenceId = 1, Batch = RawProducer.Batch(["a"]) }, new SendBatch { SequenceId = 2 } } } };
        // Frames return to a shared pool: whichever frame the next parse rents, it holds only the new request.
        for (var round = 0; round < 3; round++)
        {
            var frame = Decode(group.ToByteArray());
            Assert.Equal(2, frame.SendCount);
            frame.Return();
            var single = Decode(new ProduceRequest { Send = new SendBatch { SequenceId = 5, Batch = RawProducer.Batch(["b"]) } }.ToByteArray());
            Assert.Equal(Wire.ProduceRequest.RequestOneofCase.Send, single.RequestCase);
            Assert.Equal(0, single.SendCount);
            Assert.Equal(5UL, single.SequenceId);
            single.Return();
            var open = Decode(new ProduceRequest { Open = new OpenProducer { Topic = "t" } }.ToByteArray());
            Assert.Equal(0, open.SendCount);
            Assert.Equal(0UL, open.SequenceId);
            Assert.Empty(open.Batch);
            open.Return();
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x1A, 0x05, 0x0A })]                         // group: length past the end
    [InlineData(new byte[] { 0x1A, 0x02, 0x0A, 0x05 })]                   // group: a send longer than the group
    [InlineData(new byte[] { 0x1A, 0x03, 0x0A, 0x01, 0x08 })]             // group: a send's sequence id cut short
    [InlineData(new byte[] { 0x1A, 0x04, 0x0A, 0x02, 0x08, 0x80 })]       // group: a send's varint cut short
    [InlineData(new byte[] { 0x1A, 0x04, 0x0A, 0x02, 0x12, 0x03 })]       // group: a batch longer than its send
    [InlineData(new byte[] { 0x1A, 0x01, 0x00 })]                         // group: field number 0
    [InlineData(new byte[] { 0x1A, 0x03, 0x0A, 0x01, 0x0B })]             // group: a protobuf group (wire type 3) in a send
    [InlineData(new byte[] { 0x1A, 0x02, 0x0F, 0x00 })]                   // group: wire type 7
    public void Malformed_groups_are_refused_as_invalid_arguments(byte[] bytes)
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
