using System.Buffers.Binary;
using System.Text;

namespace Tiered.Offloader.Tests.Parquet;

/// <summary>Writes protobuf fields in whatever order a test wants, the way a foreign encoder might.</summary>
internal sealed class ProtoBuilder
{
    private readonly List<byte> _bytes = [];

    public ProtoBuilder Varint(int field, ulong value)
    {
        Tag(field, 0);
        WriteVarint(value);
        return this;
    }

    public ProtoBuilder Fixed64(int field, ulong value)
    {
        Tag(field, 1);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        _bytes.AddRange(bytes);
        return this;
    }

    public ProtoBuilder Fixed32(int field, uint value)
    {
        Tag(field, 5);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        _bytes.AddRange(bytes);
        return this;
    }

    public ProtoBuilder Bytes(int field, byte[] value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _bytes.AddRange(value);
        return this;
    }

    public ProtoBuilder String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoBuilder Message(int field, ProtoBuilder message) => Bytes(field, message.ToArray());

    public byte[] ToArray() => [.. _bytes];

    private void Tag(int field, int wireType) => WriteVarint(((ulong)field << 3) | (uint)wireType);

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }
        _bytes.Add((byte)value);
    }
}
