using Google.Protobuf;
using Tiered.Offloader.Parquet;
using Tiered.V1;

namespace Tiered.Offloader.Tests.Parquet;

/// <summary>Entries of the kinds a ledger holds, and a temporary file to offload them to.</summary>
internal static class LedgerFixtures
{
    public const long PublishTimeMs = 1_763_900_000_000;

    /// <summary>A MessageBatch encoded by the generated code: keys, properties, event times, deliver_at, replicated_from.</summary>
    public static byte[] Batch(long entryId, int messages, int payloadBytes = 100, string producer = "producer-a")
    {
        var batch = new MessageBatch
        {
            FormatVersion = 1,
            ProducerName = producer,
            SequenceId = (ulong)(entryId * 1000),
            PublishTimeMs = PublishTimeMs + entryId,
            ReplicatedFrom = entryId % 2 == 0 ? "" : "east",
            SchemaVersion = entryId % 3 == 0 ? ByteString.Empty : ByteString.CopyFrom(1, 2, 3),
            TxnIdMostBits = (ulong)entryId,
        };
        for (var i = 0; i < messages; i++)
        {
            var message = new Message
            {
                Payload = ByteString.CopyFrom(Payload(entryId, i, i % 5 == 4 ? 0 : payloadBytes)),
                Key = i % 3 == 0 ? "" : $"key-{entryId}-{i}",
                EventTimeMs = i % 2 == 0 ? 0 : PublishTimeMs - i,
                DeliverAtMs = i == 1 ? PublishTimeMs + 60_000 : 0,
            };
            if (i % 4 != 0)
            {
                message.Properties["color"] = i % 2 == 0 ? "red" : "blue";
                message.Properties["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            batch.Messages.Add(message);
        }
        return batch.ToByteArray();
    }

    /// <summary>
    /// A MessageBatch encoded by hand the way another encoder might: messages before the header, format_version
    /// last, unknown fields of every wire type, a payload written twice (the last wins), a map entry with its
    /// value before its key, a key repeated in the map.
    /// </summary>
    public static byte[] UnusualBatch(long entryId)
    {
        var first = new ProtoBuilder()
            .Bytes(9, [7, 7, 7])
            .String(2, "unusual-key")
            .Bytes(1, Payload(entryId, 0, 10))
            .Varint(4, (ulong)(PublishTimeMs + 5))
            .Message(3, new ProtoBuilder().String(2, "green").String(1, "color"))
            .Message(3, new ProtoBuilder().String(1, "color").String(2, "teal"))
            .Fixed32(10, 0xDEADBEEF)
            .Bytes(1, Payload(entryId, 1, 33));
        var second = new ProtoBuilder()
            .Varint(5, (ulong)(PublishTimeMs + 1))
            .Varint(11, 42);
        return new ProtoBuilder()
            .Message(15, first)
            .Varint(3, 77)
            .Fixed64(20, 0x0102030405060708)
            .Message(15, second)
            .String(2, "hand-made")
            .Varint(4, (ulong)(PublishTimeMs + entryId))
            .Bytes(21, [])
            .Varint(1, 1)
            .ToArray();
    }

    /// <summary>Times outside what a timestamp column holds: clamped in the columns, kept in the entry.</summary>
    public static byte[] ExtremeTimes(long entryId) => new MessageBatch
    {
        FormatVersion = 1,
        SequenceId = ulong.MaxValue,
        PublishTimeMs = long.MaxValue,
        Messages =
        {
            new Message { Payload = ByteString.CopyFrom(Payload(entryId, 0, 5)), EventTimeMs = long.MinValue, DeliverAtMs = -1 },
            new Message { Payload = ByteString.CopyFrom(Payload(entryId, 1, 5)), EventTimeMs = 253_402_300_800_000 },
        },
    }.ToByteArray();

    /// <summary>Bytes a lower layer's test might store: not a MessageBatch.</summary>
    public static byte[] Raw(long entryId, int length)
    {
        var bytes = new byte[length];
        new Random((int)entryId).NextBytes(bytes);
        if (length > 0)
            bytes[0] = 0xFF; // a tag of wire type 7, which protobuf does not have
        return bytes;
    }

    /// <summary>A well-formed MessageBatch of another format version: stored whole.</summary>
    public static byte[] FutureVersion(long entryId) =>
        new MessageBatch { FormatVersion = 2, Messages = { new Message { Payload = ByteString.CopyFrom(Payload(entryId, 0, 20)) } } }.ToByteArray();

    public static byte[] Payload(long entryId, int index, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
            bytes[i] = (byte)(entryId * 31 + index * 7 + i);
        return bytes;
    }

    /// <summary>A ledger of every kind of entry, ids 0..n-1, with a 1 MB payload in the middle.</summary>
    public static List<(long Id, byte[] Bytes)> MixedLedger()
    {
        var entries = new List<(long, byte[])>();
        for (long id = 0; id < 60; id++)
        {
            var bytes = (id % 10) switch
            {
                3 => UnusualBatch(id),
                5 => Raw(id, (int)id * 17),
                7 => FutureVersion(id),
                8 => new MessageBatch { FormatVersion = 1, ProducerName = "empty" }.ToByteArray(),
                9 when id == 29 => Batch(id, 2, payloadBytes: 1 << 20),
                6 when id == 16 => ExtremeTimes(id),
                _ => Batch(id, 1 + (int)(id % 6) * 3),
            };
            entries.Add((id, bytes));
        }
        entries.Add((60, []));
        return entries;
    }

    public static async Task<ParquetObjectLayout> WriteAsync(string path, long ledgerId, IEnumerable<(long Id, byte[] Bytes)> entries, ParquetLedgerOptions options)
    {
        await using var output = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
        await using var writer = new LedgerParquetWriter(output, ledgerId, options);
        foreach (var (id, bytes) in entries)
            await writer.AddEntryAsync(id, bytes);
        return await writer.CompleteAsync();
    }
}

/// <summary>A temporary directory, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "tiered-parquet-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
