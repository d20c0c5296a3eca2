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
    public void A_marker_has_no_messages_and_only_a_replicator_may_send_one()
    {
        var marker = new Wire.MarkerBatch
        {
            FormatVersion = 1, ProducerName = "tiered.markers", PublishTimeMs = 1,
            Marker = new Wire.ReplicationMarker { SnapshotRequest = new Wire.SnapshotRequest { SnapshotId = "x", SourceCluster = "a" } },
        }.ToByteArray();
        Assert.True(BatchHeader.TryRead(marker, out var header, out var error), error);
        Assert.True(header.IsMarker);
        Assert.Equal(0, header.MessageCount);
        Assert.Equal("a", Wire.ReplicationMarker.Parser.ParseFrom(marker.AsSpan()[header.Marker]).SnapshotRequest.SourceCluster);
        // Read as a client's MessageBatch: a batch without messages (field 9 unknown to it).
        Assert.Empty(MessageBatch.Parser.ParseFrom(marker).Messages);

        Assert.False(BatchHeader.TryReadToPublish(marker, out _, out error));
        Assert.Contains("reserved", error);
        Assert.True(BatchHeader.TryReadToPublish(marker, out _, out error, allowMarkers: true), error);
        // A batch of messages is no marker.
        Assert.True(BatchHeader.TryRead(RawProducer.Batch(["a"]).ToByteArray(), out header, out _));
        Assert.False(header.IsMarker);
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

    [Fact]
    public void A_batch_to_publish_without_format_version_is_refused_but_a_stored_one_still_reads()
    {
        var batch = RawProducer.Batch(["a"]);
        batch.FormatVersion = 0;
        Assert.False(BatchHeader.TryReadToPublish(batch.ToByteArray(), out _, out var error));
        Assert.Contains("format_version is not set", error);
        Assert.True(BatchHeader.TryRead(batch.ToByteArray(), out var header, out _));
        Assert.Equal(1, header.MessageCount);
    }

    [Fact]
    public void A_batch_to_publish_with_a_negative_deliver_at_is_refused_and_a_delayed_one_is_accepted()
    {
        var batch = RawProducer.Batch(["a", "b", "c"]);
        batch.Messages[2].DeliverAtMs = -1;
        batch.Messages[2].Properties["k"] = "v";
        Assert.False(BatchHeader.TryReadToPublish(batch.ToByteArray(), out _, out var error));
        Assert.Contains("Message 2 of the batch has deliver_at_ms -1, a negative time", error);
        batch.Messages[2].DeliverAtMs = 1_900_000_000_000;
        Assert.True(BatchHeader.TryReadToPublish(batch.ToByteArray(), out var header, out error), error);
        Assert.Equal(3, header.MessageCount);
    }

    [Fact]
    public void The_latest_deliver_at_of_a_batch_is_the_largest_of_its_messages_and_0_when_none_is_set()
    {
        var batch = RawProducer.Batch(["a", "b", "c"]);
        batch.Messages[1].Properties["k"] = "v";
        Assert.Equal(0, BatchHeader.LatestDeliverAt(batch.ToByteArray()));
        batch.Messages[0].DeliverAtMs = 1_900_000_000_500;
        batch.Messages[1].DeliverAtMs = 1_900_000_002_000;
        batch.Messages[2].DeliverAtMs = 1_900_000_001_000;
        Assert.Equal(1_900_000_002_000, BatchHeader.LatestDeliverAt(batch.ToByteArray()));
    }

    [Fact]
    public void The_latest_deliver_at_matches_the_decoded_messages_whatever_else_they_hold()
    {
        var random = new Random(9);
        for (var round = 0; round < 200; round++)
        {
            var batch = RawProducer.Batch(Enumerable.Range(0, random.Next(1, 20)).Select(i => new string('x', random.Next(0, 300))));
            foreach (var message in batch.Messages)
            {
                if (random.Next(2) == 0)
                    message.Key = new string('k', random.Next(1, 200));
                for (var p = random.Next(0, 4); p > 0; p--)
                    message.Properties[$"p{p}"] = new string('v', random.Next(0, 200));
                if (random.Next(2) == 0)
                    message.EventTimeMs = random.NextInt64(1, long.MaxValue);
                if (random.Next(3) == 0)
                    message.DeliverAtMs = random.NextInt64(1, long.MaxValue);
            }
            if (random.Next(2) == 0)
                batch.SchemaVersion = ByteString.CopyFrom(new byte[random.Next(1, 40)]);
            Assert.Equal(batch.Messages.Max(m => m.DeliverAtMs), BatchHeader.LatestDeliverAt(batch.ToByteArray()));
        }
    }

    [Fact]
    public void A_malformed_message_inside_a_batch_to_publish_is_refused()
    {
        var bytes = new byte[] { 0x08, 0x01, 0x7a, 0x02, 0x28, 0xff }; // format 1, messages[0] = { deliver_at_ms: <unfinished varint> }
        Assert.False(BatchHeader.TryReadToPublish(bytes, out _, out var error));
        Assert.Contains("message 0", error);
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(1_733_456_789_012L)]
    [InlineData(long.MaxValue)]
    public void A_stamped_publish_time_is_what_every_reader_sees_and_the_messages_are_unchanged(long time)
    {
        var batch = RawProducer.Batch(["a", "b"]);
        batch.PublishTimeMs = 0;
        batch.ProducerName = "p";
        var stamped = BatchHeader.Stamped(batch.ToByteArray(), time, producerName: null);
        Assert.True(BatchHeader.TryRead(stamped, out var header, out var error), error);
        Assert.Equal(time, header.PublishTimeMs);
        var decoded = MessageBatch.Parser.ParseFrom(stamped);
        Assert.Equal(time, decoded.PublishTimeMs);
        var expected = batch.Clone();
        expected.PublishTimeMs = time;
        Assert.Equal(expected, decoded);
    }

    [Fact]
    public void The_header_locates_the_producer_name_sequence_and_origin_and_a_stamped_name_wins()
    {
        var batch = RawProducer.Batch(["a", "b", "c"]);
        batch.ProducerName = "before";
        batch.SequenceId = 41;
        batch.ReplicatedFrom = "east";
        var bytes = batch.ToByteArray();
        Assert.True(BatchHeader.TryRead(bytes, out var header, out var error), error);
        Assert.Equal((41UL, 43UL), (header.SequenceId, header.LastSequenceId));
        Assert.Equal("before", System.Text.Encoding.UTF8.GetString(bytes.AsSpan()[header.ProducerName]));
        Assert.Equal("east", System.Text.Encoding.UTF8.GetString(bytes.AsSpan()[header.ReplicatedFrom]));

        var stamped = BatchHeader.Stamped(bytes, 7, "producer-é");
        Assert.True(BatchHeader.TryRead(stamped, out header, out error), error);
        Assert.Equal("producer-é", System.Text.Encoding.UTF8.GetString(stamped.AsSpan()[header.ProducerName]));
        var decoded = MessageBatch.Parser.ParseFrom(stamped);
        var expected = batch.Clone();
        expected.ProducerName = "producer-é";
        expected.PublishTimeMs = 7;
        Assert.Equal(expected, decoded);
    }
}
