namespace Tiered.Proto.Coding;

/// <summary>
/// Protobuf base-128 varints, read and written in place (nothing allocated), and the skip of one field's value:
/// for the hand decoders of the hot paths (the broker's batch headers and produce requests, the client's deliveries).
/// </summary>
public static class Varint
{
    public static int Length(ulong value)
    {
        var length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }
        return length;
    }

    /// <returns>The bytes written.</returns>
    public static int Write(Span<byte> destination, ulong value)
    {
        var length = 0;
        while (value >= 0x80)
        {
            destination[length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[length++] = (byte)value;
        return length;
    }

    /// <summary>Reads the varint at <paramref name="at"/> and moves past it; false when it is cut off or too long.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, ref int at, out ulong value)
    {
        if ((uint)at < (uint)data.Length && data[at] < 0x80)
        {
            value = data[at++];
            return true;
        }
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

    /// <summary>
    /// Moves <paramref name="at"/> past the value of a field of <paramref name="wireType"/> whose tag was just read;
    /// false when the value is cut off or the wire type unknown.
    /// </summary>
    public static bool TrySkipValue(ReadOnlySpan<byte> data, ref int at, int wireType)
    {
        switch (wireType)
        {
            case 0:
                return TryRead(data, ref at, out _);
            case 2:
                if (!TryRead(data, ref at, out var length) || length > (ulong)(data.Length - at))
                    return false;
                at += (int)length;
                return true;
            case 1:
                at += 8;
                return at <= data.Length;
            case 5:
                at += 4;
                return at <= data.Length;
            default:
                return false;
        }
    }
}
