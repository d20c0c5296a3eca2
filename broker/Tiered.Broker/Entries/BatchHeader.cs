using System.Diagnostics.CodeAnalysis;

namespace Tiered.Broker.Entries;

/// <summary>
/// What the broker needs to know of a stored batch (a serialized tiered.v1.MessageBatch), read
/// from its top-level fields without decoding the messages: their number and the publish time.
/// </summary>
public readonly record struct BatchHeader(uint FormatVersion, int MessageCount, long PublishTimeMs)
{
    public const uint CurrentFormatVersion = 1;

    private const int FormatVersionField = 1;
    private const int PublishTimeField = 4;
    private const int MessagesField = 15;
    private const int DeliverAtField = 5;

    /// <summary>Reads the header; false with the reason when the bytes are not a well-formed batch with at least one message.</summary>
    public static bool TryRead(ReadOnlySpan<byte> batch, out BatchHeader header, [NotNullWhen(false)] out string? error)
        => TryRead(batch, checkMessages: false, out header, out error);

    /// <summary>
    /// Reads the header of a batch a producer sent and checks what the broker must refuse besides a
    /// malformed batch: no format version (0), and a message with <c>deliver_at_ms</c> set (delayed
    /// delivery is not built: such a message would be delivered early). The messages are scanned
    /// field by field, their payloads skipped, nothing allocated.
    /// </summary>
    public static bool TryReadToPublish(ReadOnlySpan<byte> batch, out BatchHeader header, [NotNullWhen(false)] out string? error)
    {
        if (!TryRead(batch, checkMessages: true, out header, out error))
            return false;
        if (header.FormatVersion == 0)
            return Fail($"format_version is not set; set it to {CurrentFormatVersion}", out error);
        return true;
    }

    /// <summary>
    /// The batch with <paramref name="publishTimeMs"/> as its publish time: the bytes followed by one
    /// more publish_time_ms field. Protobuf keeps the last value of a field it reads twice, so every
    /// reader (this header, consumers) sees the new time, and the rest of the batch is not re-encoded.
    /// </summary>
    public static byte[] WithPublishTime(ReadOnlySpan<byte> batch, long publishTimeMs)
    {
        Span<byte> field = stackalloc byte[11];
        field[0] = PublishTimeField << 3;
        var length = 1;
        var value = (ulong)publishTimeMs;
        while (value >= 0x80)
        {
            field[length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        field[length++] = (byte)value;
        var stamped = new byte[batch.Length + length];
        batch.CopyTo(stamped);
        field[..length].CopyTo(stamped.AsSpan(batch.Length));
        return stamped;
    }

    private static bool TryRead(ReadOnlySpan<byte> batch, bool checkMessages, out BatchHeader header, [NotNullWhen(false)] out string? error)
    {
        header = default;
        uint version = 0;
        var count = 0;
        long publishTime = 0;
        var fields = new ProtoFields(batch);
        string? malformed;
        while (fields.TryNext(out malformed))
        {
            if (fields is { Field: FormatVersionField, WireType: 0 })
                version = (uint)fields.Value;
            else if (fields is { Field: PublishTimeField, WireType: 0 })
                publishTime = (long)fields.Value;
            else if (fields is { Field: MessagesField, WireType: 2 })
            {
                count++;
                if (checkMessages && !TryCheckMessage(fields.Bytes, count - 1, out error))
                    return false;
            }
        }
        if (malformed is not null)
            return Fail(malformed, out error);
        if (version > CurrentFormatVersion)
            return Fail($"format version {version} is newer than this broker knows ({CurrentFormatVersion})", out error);
        if (count == 0)
            return Fail("it holds no message", out error);
        header = new BatchHeader(version, count, publishTime);
        error = null;
        return true;
    }

    /// <summary>Walks one message's fields (skipping their contents) for a deliver_at_ms other than 0.</summary>
    private static bool TryCheckMessage(ReadOnlySpan<byte> message, int index, [NotNullWhen(false)] out string? error)
    {
        long deliverAt = 0;
        var fields = new ProtoFields(message);
        string? malformed;
        while (fields.TryNext(out malformed))
        {
            if (fields is { Field: DeliverAtField, WireType: 0 })
                deliverAt = (long)fields.Value;
        }
        if (malformed is not null)
            return Fail($"in message {index}, {malformed}", out error);
        if (deliverAt != 0)
        {
            error = $"Message {index} of the batch sets deliver_at_ms, but delayed delivery is not built yet and the broker would deliver it at once; send it without deliver_at_ms.";
            return false;
        }
        error = null;
        return true;
    }

    private static bool Fail(string reason, out string error)
    {
        error = $"Malformed message batch: {reason}.";
        return false;
    }
}
