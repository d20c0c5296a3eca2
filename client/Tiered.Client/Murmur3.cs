using System.Buffers;
using System.Text;

namespace Tiered.Client;

/// <summary>
/// MurmurHash3 x86 32-bit, the hash Pulsar's Java client uses to route a keyed message to a partition
/// (<c>Murmur3_32Hash</c>, seed 0), so that a key lands in the same partition whichever client produced it.
/// </summary>
public static class Murmur3
{
    /// <summary>The hash of bytes (see <see cref="Tiered.Proto.Hashing.Murmur3"/>).</summary>
    public static uint Hash32(ReadOnlySpan<byte> data, uint seed = 0) => Tiered.Proto.Hashing.Murmur3.Hash32(data, seed);

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
