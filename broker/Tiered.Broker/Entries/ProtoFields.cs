using Tiered.Proto.Coding;

namespace Tiered.Broker.Entries;

/// <summary>
/// Walks the top-level fields of one serialized protobuf message without decoding it: each field's
/// number with its value (varints) or its bytes (length-delimited); fixed-size fields are skipped.
/// Nothing is allocated, so the broker can look into batches on the publish path.
/// </summary>
internal ref struct ProtoFields(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _at;

    /// <summary>The current field's number.</summary>
    public int Field { get; private set; }

    /// <summary>The current field's wire type: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit.</summary>
    public int WireType { get; private set; }

    /// <summary>The current field's value when it is a varint.</summary>
    public ulong Value { get; private set; }

    /// <summary>The current field's bytes when it is length-delimited; empty otherwise.</summary>
    public ReadOnlySpan<byte> Bytes { get; private set; }

    /// <summary>Where <see cref="Bytes"/> start in the message.</summary>
    public int BytesOffset { get; private set; }

    /// <summary>
    /// Moves to the next field: false at the end (<paramref name="error"/> null) or when the bytes are
    /// not well formed (<paramref name="error"/> says how, as a clause: "a field tag is malformed").
    /// </summary>
    public bool TryNext(out string? error)
    {
        error = null;
        Value = 0;
        Bytes = default;
        if (_at >= _data.Length)
            return false;
        if (!TryReadVarint(out var tag) || tag >> 3 == 0)
            return Malformed("a field tag is malformed", out error);
        Field = (int)(tag >> 3);
        WireType = (int)(tag & 7);
        switch (WireType)
        {
            case 0:
                if (!TryReadVarint(out var value))
                    return Malformed("a number is malformed", out error);
                Value = value;
                return true;
            case 1:
                return Skip(8, out error);
            case 2:
                if (!TryReadVarint(out var length) || length > (ulong)(_data.Length - _at))
                    return Malformed("a length is malformed", out error);
                Bytes = _data.Slice(_at, (int)length);
                BytesOffset = _at;
                _at += (int)length;
                return true;
            case 5:
                return Skip(4, out error);
            default:
                return Malformed($"field {Field} has an unknown wire type", out error);
        }
    }

    private bool Skip(int bytes, out string? error)
    {
        error = null;
        if (bytes > _data.Length - _at)
            return Malformed("it ends in the middle of a field", out error);
        _at += bytes;
        return true;
    }

    private static bool Malformed(string reason, out string? error)
    {
        error = reason;
        return false;
    }

    private bool TryReadVarint(out ulong value) => Varint.TryRead(_data, ref _at, out value);
}
