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

    /// <summary>Reads the header; false with the reason when the bytes are not a well-formed batch with at least one message.</summary>
    public static bool TryRead(ReadOnlySpan<byte> batch, out BatchHeader header, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        header = default;
        uint version = 0;
        var count = 0;
        long publishTime = 0;
        var at = 0;
        while (at < batch.Length)
        {
            if (!TryReadVarint(batch, ref at, out var tag) || tag >> 3 == 0)
                return Fail("a field tag is malformed", out error);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    if (!TryReadVarint(batch, ref at, out var value))
                        return Fail("a number is malformed", out error);
                    if (field == FormatVersionField)
                        version = (uint)value;
                    else if (field == PublishTimeField)
                        publishTime = (long)value;
                    break;
                case 1:
                    at += 8;
                    break;
                case 2:
                    if (!TryReadVarint(batch, ref at, out var length) || length > (ulong)(batch.Length - at))
                        return Fail("a length is malformed", out error);
                    at += (int)length;
                    if (field == MessagesField)
                        count++;
                    break;
                case 5:
                    at += 4;
                    break;
                default:
                    return Fail($"field {field} has an unknown wire type", out error);
            }
        }
        if (at != batch.Length)
            return Fail("it ends in the middle of a field", out error);
        if (version > CurrentFormatVersion)
            return Fail($"format version {version} is newer than this broker knows ({CurrentFormatVersion})", out error);
        if (count == 0)
            return Fail("it holds no message", out error);
        header = new BatchHeader(version, count, publishTime);
        error = null;
        return true;
    }

    private static bool Fail(string reason, out string error)
    {
        error = $"Malformed message batch: {reason}.";
        return false;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int at, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && at < data.Length; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return true;
        }
        return false;
    }
}
