using System.Buffers.Binary;

namespace Tiered.Bench;

/// <summary>
/// Payloads of one size, random but for a header each send writes: its timestamp (8 bytes) and, for workloads that
/// count messages one by one, its index (8 more). A producer keeps a payload until its send completes; a ring of
/// twice the send window is never reused before, and sending allocates nothing.
/// </summary>
internal sealed class PayloadRing
{
    private readonly byte[] _buffer;
    private readonly int _size;
    private readonly int _count;
    private int _next;

    public PayloadRing(int size, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 16);
        (_size, _count) = (size, count);
        _buffer = new byte[size * count];
        Random.Shared.NextBytes(_buffer);
    }

    /// <summary>The next payload, with <paramref name="timestamp"/> in its first 8 bytes. Called by one sender at a time.</summary>
    public ReadOnlyMemory<byte> Next(long timestamp) => Slot(timestamp);

    /// <summary>The next payload, with <paramref name="timestamp"/> and then <paramref name="index"/> in its first 16 bytes.</summary>
    public ReadOnlyMemory<byte> Next(long timestamp, long index)
    {
        var slot = Slot(timestamp);
        BinaryPrimitives.WriteInt64LittleEndian(slot.Span[8..], index);
        return slot;
    }

    private Memory<byte> Slot(long timestamp)
    {
        var slot = new Memory<byte>(_buffer, _next * _size, _size);
        _next = (_next + 1) % _count;
        BinaryPrimitives.WriteInt64LittleEndian(slot.Span, timestamp);
        return slot;
    }
}
