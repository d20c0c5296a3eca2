using Google.Protobuf;
using Tiered.Broker.Entries;
using Tiered.V1;

using Tiered.Testing;

namespace Tiered.Broker.Tests;

public class BatchHeaderTests
{
    [Fact]
    public void Header_of_an_encoded_batch_gives_its_message_count_and_publish_time()
    {
        var batch = RawProducer.Batch(["a", "b", "c"]);
        batch.ProducerName = "p";
        batch.Messages[1].Properties["k"] = "v";
        Assert.True(BatchHeader.TryRead(batch.ToByteArray(), out var header, out var error), error);
        Assert.Equal(3, header.MessageCount);
        Assert.Equal(batch.PublishTimeMs, header.PublishTimeMs);
        Assert.Equal(1u, header.FormatVersion);
    }

    [Fact]
    public void A_batch_without_messages_is_refused()
    {
        Assert.False(BatchHeader.TryRead(new MessageBatch { FormatVersion = 1 }.ToByteArray(), out _, out var error));
        Assert.Contains("no message", error);
    }

    [Fact]
    public void A_batch_of_a_newer_format_is_refused()
    {
        var batch = RawProducer.Batch(["a"]);
        batch.FormatVersion = 2;
        Assert.False(BatchHeader.TryRead(batch.ToByteArray(), out _, out var error));
        Assert.Contains("format version 2", error);
    }

    [Fact]
    public void Truncated_bytes_are_refused()
    {
        var bytes = RawProducer.Batch(["hello", "world"]).ToByteArray();
        Assert.False(BatchHeader.TryRead(bytes.AsSpan(0, bytes.Length - 3), out _, out var error));
        Assert.StartsWith("Malformed message batch", error);
    }
}
