using System.Text;
using Tiered.V1;

namespace Tiered.Client.Tests;

internal static class ClientFactory
{
    /// <summary>A client of <paramref name="broker"/> that reconnects quickly, so reconnection tests take milliseconds.</summary>
    public static TieredClient For(FakeBroker broker) => new(new TieredClientOptions
    {
        ServiceUrl = broker.Url,
        OperationTimeout = TimeSpan.FromSeconds(10),
        ReconnectInitialBackoff = TimeSpan.FromMilliseconds(20),
        ReconnectMaxBackoff = TimeSpan.FromMilliseconds(200),
    });

    public static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    public static string Text(ReadOnlyMemory<byte> payload) => Encoding.UTF8.GetString(payload.Span);

    /// <summary>A stored batch as a producer named <paramref name="producer"/> would have sent it.</summary>
    public static MessageBatch Batch(string producer, ulong sequenceId, params string[] payloads)
    {
        var batch = new MessageBatch { FormatVersion = 1, ProducerName = producer, SequenceId = sequenceId, PublishTimeMs = 1_700_000_000_000 };
        foreach (var payload in payloads)
            batch.Messages.Add(new Message { Payload = Google.Protobuf.ByteString.CopyFromUtf8(payload), Key = "k-" + payload });
        return batch;
    }
}
