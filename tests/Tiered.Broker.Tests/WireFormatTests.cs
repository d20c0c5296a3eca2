using Google.Protobuf;
using Google.Protobuf.Reflection;
using Tiered.V1;
using Wire = Tiered.Broker.Wire;

using Tiered.Testing;

namespace Tiered.Broker.Tests;

/// <summary>The broker's wire types must stay in step with client.proto: same fields, same numbers.</summary>
public class WireFormatTests
{
    [Fact]
    public void Wire_messages_have_the_fields_of_their_contract_messages()
    {
        (MessageDescriptor Wire, MessageDescriptor Contract)[] pairs =
        [
            (Wire.ProduceRequest.Descriptor, ProduceRequest.Descriptor),
            (Wire.SendBatch.Descriptor, SendBatch.Descriptor),
            (Wire.SendBatches.Descriptor, SendBatches.Descriptor),
            (Wire.ConsumeResponse.Descriptor, ConsumeResponse.Descriptor),
            (Wire.Delivery.Descriptor, Delivery.Descriptor),
        ];
        foreach (var (wire, contract) in pairs)
            Assert.Equal(Fields(contract), Fields(wire));
        // A marker entry is a MessageBatch: each of its fields but the marker (9) has MessageBatch's number and type.
        var batch = Fields(MessageBatch.Descriptor);
        Assert.All(Fields(Wire.MarkerBatch.Descriptor).Where(f => f.Item1 != 9), field => Assert.Contains(field, batch));
        Assert.DoesNotContain(MessageBatch.Descriptor.Fields.InFieldNumberOrder(), f => f.FieldNumber == 9);
    }

    [Fact]
    public void A_delivery_written_with_raw_batch_bytes_reads_as_the_contract_delivery()
    {
        var batch = RawProducer.Batch(["one", "two"]);
        var wire = new Wire.ConsumeResponse
        {
            Delivery = new Wire.Delivery { MessageId = new MessageId { LedgerId = 7, EntryId = 9 }, Batch = batch.ToByteString() },
        };
        var read = ConsumeResponse.Parser.ParseFrom(wire.ToByteArray());
        Assert.Equal(batch, read.Delivery.Batch);
        Assert.Equal(9, read.Delivery.MessageId.EntryId);
    }

    private static List<(int, string)> Fields(MessageDescriptor message)
        => [.. message.Fields.InFieldNumberOrder().Select(f => (f.FieldNumber, f.Name))];
}
