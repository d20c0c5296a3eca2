using System.Text;
using Google.Protobuf;
using Tiered.V1;

namespace Tiered.Bench.Offload;

/// <summary>
/// Entries as the broker stores them for a batching producer: one serialized
/// <see cref="MessageBatch"/> of <see cref="OffloadBenchOptions.MessagesPerEntry"/> messages, each
/// with a 1 KB payload, a key and a property. Every entry has fresh payloads, so no two are alike.
/// </summary>
public sealed class BatchEntries(PayloadKind payload)
{
    private static readonly string[] Regions = ["eu-west-1", "eu-central-1", "us-east-1", "ap-south-1"];
    private static readonly string[] Words =
    [
        "order", "created", "paid", "shipped", "cancelled", "customer", "basket", "item", "price", "quantity",
        "warehouse", "express", "standard", "discount", "voucher", "refund", "address", "berlin", "lyon", "porto",
    ];

    private readonly Random _random = new(42);
    private ulong _sequenceId;

    /// <summary>The next entry's bytes.</summary>
    public byte[] Next()
    {
        var batch = new MessageBatch
        {
            FormatVersion = 1,
            ProducerName = "bench-producer-1",
            SequenceId = _sequenceId,
            PublishTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        for (var i = 0; i < OffloadBenchOptions.MessagesPerEntry; i++)
        {
            var message = new Message
            {
                Payload = UnsafeByteOperations.UnsafeWrap(NextPayload()),
                Key = "customer-" + _random.Next(10_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            message.Properties.Add("region", Regions[_random.Next(Regions.Length)]);
            batch.Messages.Add(message);
        }
        _sequenceId += OffloadBenchOptions.MessagesPerEntry;
        return batch.ToByteArray();
    }

    private byte[] NextPayload()
    {
        var bytes = new byte[OffloadBenchOptions.PayloadBytes];
        if (payload == PayloadKind.Random)
        {
            _random.NextBytes(bytes);
            return bytes;
        }
        var text = new StringBuilder(OffloadBenchOptions.PayloadBytes + 64);
        text.Append("{\"event\":\"").Append(Words[_random.Next(Words.Length)])
            .Append("\",\"order\":").Append(_random.Next(1_000_000))
            .Append(",\"lines\":[");
        while (text.Length < OffloadBenchOptions.PayloadBytes - 120)
        {
            text.Append("{\"item\":\"").Append(Words[_random.Next(Words.Length)]).Append('-').Append(_random.Next(500))
                .Append("\",\"quantity\":").Append(_random.Next(1, 10))
                .Append(",\"price\":").Append(_random.Next(100, 99_999)).Append("},");
        }
        text.Append("{}],\"note\":\"").Append(Words[_random.Next(Words.Length)]).Append("\"}");
        var written = Encoding.ASCII.GetBytes(text.ToString(), bytes);
        bytes.AsSpan(written).Fill((byte)' ');
        return bytes;
    }
}
