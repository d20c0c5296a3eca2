using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Tiered.Client;

/// <summary>
/// MurmurHash3 x86 32-bit, the hash Pulsar's Java client uses to route a keyed message to a partition
/// (<c>Murmur3_32Hash</c>, seed 0), so that a key lands in the same partition whichever client produced it.
/// </summary>
public static class Murmur3
{
    private const uint C1 = 0xcc9e2d51;
    private const uint C2 = 0x1b873593;

    public static uint Hash32(ReadOnlySpan<byte> data, uint seed = 0)
    {
        var h = seed;
        var blocks = data.Length / 4;
        for (var i = 0; i < blocks; i++)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * 4, 4));
            k *= C1;
            k = BitOperations.RotateLeft(k, 15);
            k *= C2;
            h ^= k;
            h = BitOperations.RotateLeft(h, 13);
            h = (h * 5) + 0xe6546b64;
        }
        var tail = data[(blocks * 4)..];
        uint k1 = 0;
        switch (tail.Length)
        {
            case 3:
                k1 ^= (uint)tail[2] << 16;
                goto case 2;
            case 2:
                k1 ^= (uint)tail[1] << 8;
                goto case 1;
            case 1:
                k1 ^= tail[0];
                k1 *= C1;
                k1 = BitOperations.RotateLeft(k1, 15);
                k1 *= C2;
                h ^= k1;
                break;
        }
        h ^= (uint)data.Length;
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }

    /// <summary>The hash of a string's UTF-8 bytes, without allocating for keys up to 256 bytes.</summary>
    public static uint Hash32(string key, uint seed = 0)
    {
        ArgumentNullException.ThrowIfNull(key);
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        if (max <= 256)
        {
            Span<byte> buffer = stackalloc byte[256];
            var n = Encoding.UTF8.GetBytes(key, buffer);
            return Hash32(buffer[..n], seed);
        }
        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            var n = Encoding.UTF8.GetBytes(key, rented);
            return Hash32(rented.AsSpan(0, n), seed);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The partition of a key: Pulsar's <c>signSafeMod(murmur3_32(key), n)</c>, that is <c>(hash &amp; int.MaxValue) % n</c>.</summary>
    public static int Partition(string key, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(partitions);
        return (int)(Hash32(key) & int.MaxValue) % partitions;
    }
}
