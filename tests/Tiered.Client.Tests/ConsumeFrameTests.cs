using System.Buffers;
using System.Text;
using Google.Protobuf;
using Tiered.Client.Consumers;
using Tiered.V1;
using Xunit;

namespace Tiered.Client.Tests;

/// <summary>The client's own decoding of Consume responses: a Delivery read field by field, anything else by the generated parser.</summary>
public sealed class ConsumeFrameTests
{
    [Fact]
    public void A_delivery_decodes_into_its_messages_with_every_field()
    {
        var batch = new MessageBatch
        {
            FormatVersion = 1, ProducerName = "p-1", SequenceId = 40, PublishTimeMs = 1_700_000_000_123,
            ReplicatedFrom = "east", SchemaVersion = ByteString.CopyFromUtf8("v7"),
            Messages =
            {
                new Message { Payload = ByteString.CopyFromUtf8("first"), Key = "k", EventTimeMs = 99, Properties = { ["a"] = "1", ["b"] = "2" } },
                new Message { Payload = ByteString.Empty, DeliverAtMs = 5 },
                new Message { Payload = ByteString.CopyFromUtf8("third") },
            },
        };
        var bytes = new ConsumeResponse
        {
            Delivery = new Delivery
            {
                MessageId = new V1.MessageId { LedgerId = 7, EntryId = 300, Partition = 2, BatchSize = 3 },
                RedeliveryCount = 4,
                AckedBatchIndexes = { 1, 2 },
                Batch = batch,
            },
        }.ToByteArray();

        var frame = ConsumeFrame.Decode(new ReadOnlySequence<byte>(bytes));

        Assert.Null(frame.Response);
        Assert.True(frame.HasBatch);
        Assert.True(frame.HasMessageId);
        Assert.Equal((7L, 300L, 4, 1u), (frame.LedgerId, frame.EntryId, frame.RedeliveryCount, frame.FormatVersion));
        Assert.Equal([1, 2], frame.AckedBatchIndexes);
        Assert.Equal(3, frame.Messages.Length);
        var first = frame.Messages[0]!;
        Assert.Equal("first", Encoding.UTF8.GetString(first.Payload.Span));
        Assert.Equal("k", first.Key);
        Assert.Equal(99, first.EventTimeMs);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, first.Properties);
        Assert.Equal(("p-1", 40UL, 1_700_000_000_123L, 3), (first.ProducerName, first.SequenceId, first.PublishTimeMs, first.BatchSize));
        var second = frame.Messages[1]!;
        Assert.True(second.Payload.IsEmpty);
        Assert.Null(second.Key);
        Assert.Empty(second.Properties);
        Assert.Equal(41UL, second.SequenceId);
        Assert.Equal("third", Encoding.UTF8.GetString(frame.Messages[2]!.Payload.Span));

        // The payload is the message's own copy: the buffer gRPC read the response into is reused.
        Array.Clear(bytes);
        Assert.Equal("first", Encoding.UTF8.GetString(first.Payload.Span));
    }

    [Fact]
    public void A_delivery_read_from_several_segments_decodes_as_from_one()
    {
        var bytes = new ConsumeResponse
        {
            Delivery = new Delivery
            {
                MessageId = new V1.MessageId { LedgerId = 1, EntryId = 2 },
                Batch = new MessageBatch { FormatVersion = 1, Messages = { new Message { Payload = ByteString.CopyFromUtf8("split across segments") } } },
            },
        }.ToByteArray();

        var frame = ConsumeFrame.Decode(Segments(bytes, 7));

        Assert.Equal("split across segments", Encoding.UTF8.GetString(frame.Messages.Single()!.Payload.Span));
    }

    [Fact]
    public void Other_responses_are_parsed_by_the_generated_code()
    {
        var bytes = new ConsumeResponse { AckReceipt = new AckReceipt { RequestId = 12, Error = "refused" } }.ToByteArray();

        var frame = ConsumeFrame.Decode(new ReadOnlySequence<byte>(bytes));

        Assert.Equal(ConsumeResponse.ResponseOneofCase.AckReceipt, frame.Response?.ResponseCase);
        Assert.Equal(12UL, frame.Response!.AckReceipt.RequestId);
    }

    [Fact]
    public void A_cut_off_delivery_is_refused()
    {
        var bytes = new ConsumeResponse
        {
            Delivery = new Delivery { MessageId = new V1.MessageId { LedgerId = 1 }, Batch = new MessageBatch { FormatVersion = 1, Messages = { new Message { Payload = ByteString.CopyFromUtf8("payload") } } } },
        }.ToByteArray();
        // The outer length still matches, the batch's inner length says more than there is.
        var cut = bytes.ToArray();
        var batchTag = Array.IndexOf(cut, (byte)0x22);
        cut[batchTag + 1] = 0x7F;

        Assert.ThrowsAny<Exception>(() => ConsumeFrame.Decode(new ReadOnlySequence<byte>(cut)));
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
    {
        Segment? first = null, last = null;
        for (var at = 0; at < bytes.Length; at += size)
        {
            var segment = new Segment(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)), last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null)
                first = segment;
            else
                last.Next = segment;
            last = segment;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public new ReadOnlySequenceSegment<byte>? Next
        {
            get => base.Next;
            set => base.Next = value;
        }
    }
}
