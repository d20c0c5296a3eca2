using System.Buffers.Binary;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Tiered.Ledger;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum BookKeeper and iSCSI use.
/// <c>System.IO.Hashing</c> only has the IEEE polynomial, so this uses the CPU's CRC32C instruction
/// (SSE4.2 or ARMv8) and falls back to a slicing-by-8 table elsewhere.
/// </summary>
public static class Crc32C
{
    private const uint Polynomial = 0x82F63B78u;

    private static readonly uint[] Table = BuildTable();

    /// <summary>x^(2^k) modulo the polynomial, k = 0..31 (bit-reflected).</summary>
    private static readonly uint[] PowersOfX = BuildPowersOfX();

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues <paramref name="crc"/> (a previous result, or 0 to start) over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) => ~Update(~crc, data);

    /// <summary>
    /// The CRC-32C of A followed by B, from <paramref name="crcA"/> = CRC(A), <paramref name="crcB"/> = CRC(B) and
    /// <paramref name="shiftB"/> = <see cref="ShiftOf"/>(B's length): without reading either again. The writer checksums
    /// a payload before it takes a lock and combines it behind the header (ids and LAC) it only knows under the lock.
    /// </summary>
    public static uint Combine(uint crcA, uint crcB, uint shiftB) => MultiplyModP(shiftB, crcA) ^ crcB;

    /// <summary>x^(8·<paramref name="length"/>) modulo the polynomial: what <see cref="Combine"/> needs of the second part.</summary>
    public static uint ShiftOf(long length)
    {
        // Bit-reflected, as the CRC: x^0 is the top bit. Square-and-multiply over the bits of the length in bits.
        var product = 1u << 31;
        for (var k = 3; length != 0; length >>= 1, k++)
        {
            if ((length & 1) != 0)
                product = MultiplyModP(PowersOfX[k & 31], product);
        }
        return product;
    }

    private static uint[] BuildPowersOfX()
    {
        var powers = new uint[32];
        var p = 1u << 30; // x^1
        powers[0] = p;
        for (var k = 1; k < 32; k++)
            powers[k] = p = MultiplyModP(p, p);
        return powers;
    }

    /// <summary>a·b modulo the polynomial, both bit-reflected (x^0 in the top bit). Branch-free: the bits of a are random.</summary>
    private static uint MultiplyModP(uint a, uint b)
    {
        var product = 0u;
        for (var i = 0; i < 32; i++)
        {
            product ^= b & (uint)-(int)(a >> 31);
            a <<= 1;
            b = (b >> 1) ^ (Polynomial & (uint)-(int)(b & 1));
        }
        return product;
    }

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            ulong wide = crc;
            while (data.Length >= 8)
            {
                wide = Sse42.X64.Crc32(wide, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            crc = (uint)wide;
            foreach (var b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }

            return crc;
        }

        if (Sse42.IsSupported)
        {
            while (data.Length >= 4)
            {
                crc = Sse42.Crc32(crc, BinaryPrimitives.ReadUInt32LittleEndian(data));
                data = data[4..];
            }

            foreach (var b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }

            return crc;
        }

        if (Crc32.Arm64.IsSupported)
        {
            while (data.Length >= 8)
            {
                crc = Crc32.Arm64.ComputeCrc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            foreach (var b in data)
            {
                crc = Crc32.ComputeCrc32C(crc, b);
            }

            return crc;
        }

        if (Crc32.IsSupported)
        {
            foreach (var b in data)
            {
                crc = Crc32.ComputeCrc32C(crc, b);
            }

            return crc;
        }

        return UpdateTable(crc, data);
    }

    /// <summary>Software CRC-32C (slicing-by-8); internal so tests can compare it with the hardware path.</summary>
    internal static uint UpdateTable(uint crc, ReadOnlySpan<byte> data)
    {
        var table = Table.AsSpan();
        while (data.Length >= 8)
        {
            var low = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            var high = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = table[(7 * 256) + (int)(low & 0xFF)]
                ^ table[(6 * 256) + (int)((low >> 8) & 0xFF)]
                ^ table[(5 * 256) + (int)((low >> 16) & 0xFF)]
                ^ table[(4 * 256) + (int)(low >> 24)]
                ^ table[(3 * 256) + (int)(high & 0xFF)]
                ^ table[(2 * 256) + (int)((high >> 8) & 0xFF)]
                ^ table[256 + (int)((high >> 16) & 0xFF)]
                ^ table[(int)(high >> 24)];
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = table[(int)((crc ^ b) & 0xFF)] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            var crc = i;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ Polynomial : crc >> 1;
            }

            table[i] = crc;
        }

        for (var slice = 1; slice < 8; slice++)
        {
            for (var i = 0; i < 256; i++)
            {
                var previous = table[((slice - 1) * 256) + i];
                table[(slice * 256) + i] = (previous >> 8) ^ table[(int)(previous & 0xFF)];
            }
        }

        return table;
    }
}
