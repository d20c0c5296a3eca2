namespace Tiered.Offloader.Parquet;

/// <summary>
/// The few protobuf wire-format reads the entry scan needs: varints, tags and skipping a field. Every
/// read returns false on malformed input (a truncated varint, a length past the end, a group or a reserved
/// wire type) so that such an entry is stored whole rather than half understood.
/// </summary>
internal static class ProtoWire
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int Fixed32 = 5;

    public static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (position >= data.Length)
                return false;
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return true;
        }
        return false;
    }

    /// <summary>Reads a tag; field numbers of 0 are malformed.</summary>
    public static bool TryReadTag(ReadOnlySpan<byte> data, ref int position, out int fieldNumber, out int wireType)
    {
        fieldNumber = 0;
        wireType = 0;
        if (!TryReadVarint(data, ref position, out var tag) || tag > uint.MaxValue)
            return false;
        fieldNumber = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        return fieldNumber != 0;
    }

    /// <summary>Reads the length of a length-delimited field and checks that its bytes are all there.</summary>
    public static bool TryReadLength(ReadOnlySpan<byte> data, ref int position, out int length)
    {
        length = 0;
        if (!TryReadVarint(data, ref position, out var value) || value > (ulong)(data.Length - position))
            return false;
        length = (int)value;
        return true;
    }

    /// <summary>Skips the value of a field whose tag was just read.</summary>
    public static bool TrySkip(ReadOnlySpan<byte> data, ref int position, int wireType)
    {
        switch (wireType)
        {
            case Varint:
                return TryReadVarint(data, ref position, out _);
            case Fixed64:
                return Advance(data, ref position, 8);
            case LengthDelimited:
                if (!TryReadLength(data, ref position, out var length))
                    return false;
                position += length;
                return true;
            case Fixed32:
                return Advance(data, ref position, 4);
            default:
                return false;
        }
    }

    private static bool Advance(ReadOnlySpan<byte> data, ref int position, int count)
    {
        if (data.Length - position < count)
            return false;
        position += count;
        return true;
    }
}
