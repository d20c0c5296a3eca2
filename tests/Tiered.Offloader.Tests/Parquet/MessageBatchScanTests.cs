using System.Text;
using Google.Protobuf;
using Tiered.Offloader.Parquet;
using Tiered.V1;

namespace Tiered.Offloader.Tests.Parquet;

public sealed class MessageBatchScanTests
{
    [Fact]
    public void The_wire_scan_finds_what_the_generated_parser_finds()
    {
        var scan = new MessageBatchScan();
        var scanned = 0;
        foreach (var (id, bytes) in LedgerFixtures.MixedLedger())
        {
            if (!scan.TryScan(bytes))
                continue;
            scanned++;
            var batch = MessageBatch.Parser.ParseFrom(bytes);
            Assert.Equal(1u, batch.FormatVersion);
            Assert.Equal(batch.Messages.Count, scan.MessageCount);
            Assert.Equal(batch.ProducerName, Text(bytes, scan.ProducerNameOffset, scan.ProducerNameLength));
            Assert.Equal(batch.SequenceId, scan.SequenceId);
            Assert.Equal(batch.PublishTimeMs, scan.PublishTimeMs);
            for (var i = 0; i < scan.MessageCount; i++)
            {
                var expected = batch.Messages[i];
                var message = scan.Messages[i];
                Assert.True(expected.Payload.Span.SequenceEqual(bytes.AsSpan(message.PayloadOffset, message.PayloadLength)), $"entry {id} message {i}: payload");
                Assert.Equal(expected.Key, Text(bytes, message.KeyOffset, message.KeyLength));
                Assert.Equal(expected.EventTimeMs, message.EventTimeMs);
                Assert.Equal(expected.DeliverAtMs, message.DeliverAtMs);
                Assert.Equal(expected.Properties.Count, message.PropertyCount);
                foreach (var property in scan.Properties.Slice(message.FirstProperty, message.PropertyCount))
                {
                    var key = Text(bytes, property.KeyOffset, property.KeyLength);
                    Assert.Equal(expected.Properties[key], Text(bytes, property.ValueOffset, property.ValueLength));
                }
            }
        }
        Assert.True(scanned > 30, $"only {scanned} entries scanned as batches");
    }

    [Fact]
    public void Entries_that_are_not_batches_of_format_1_with_messages_are_not_scanned()
    {
        var scan = new MessageBatchScan();

        Assert.False(scan.TryScan([]));
        Assert.False(scan.TryScan(LedgerFixtures.Raw(1, 50)));
        Assert.False(scan.TryScan(LedgerFixtures.FutureVersion(1)));
        Assert.False(scan.TryScan(new MessageBatch { FormatVersion = 1 }.ToByteArray()));
        var truncated = LedgerFixtures.Batch(1, 3);
        Assert.False(scan.TryScan(truncated.AsSpan(0, truncated.Length - 1)));
        Assert.False(scan.TryScan(new ProtoBuilder().Varint(1, 1).Bytes(15, [0x0A, 0x05, 1]).ToArray()));
    }

    private static string Text(byte[] bytes, int offset, int length) =>
        offset < 0 ? "" : Encoding.UTF8.GetString(bytes, offset, length);
}
