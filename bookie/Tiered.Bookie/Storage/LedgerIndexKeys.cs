using System.Buffers.Binary;

namespace Tiered.Bookie.Storage;

/// <summary>
/// Byte encodings of the index. Keys are big-endian so RocksDB's bytewise order is (ledger, entry)
/// numeric order; ids are non-negative, so the sign bit never disturbs it.
/// </summary>
internal static class LedgerIndexKeys
{
    public const int EntryKeySize = 16;

    public const int LocationSize = 16;

    public const int LedgerKeySize = 8;

    private const byte InfoVersion = 1;

    private const byte FencedFlag = 1;

    private const int InfoFixedSize = 12;

    public static void WriteEntryKey(Span<byte> destination, long ledgerId, long entryId)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, ledgerId);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], entryId);
    }

    /// <summary>A key above every entry key of <paramref name="ledgerId"/> and below those of the next ledger.</summary>
    public static void WriteEntryKeyUpperBound(Span<byte> destination, long ledgerId)
    {
        BinaryPrimitives.WriteInt64BigEndian(destination, ledgerId);
        destination.Slice(8, 8).Fill(0xFF);
    }

    public static (long LedgerId, long EntryId) ReadEntryKey(ReadOnlySpan<byte> key) =>
        (BinaryPrimitives.ReadInt64BigEndian(key), BinaryPrimitives.ReadInt64BigEndian(key[8..]));

    public static void WriteLocation(Span<byte> destination, EntryLocation location)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, location.LogId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], location.Offset);
    }

    public static EntryLocation ReadLocation(ReadOnlySpan<byte> value) =>
        new(BinaryPrimitives.ReadInt64LittleEndian(value), BinaryPrimitives.ReadInt64LittleEndian(value[8..]));

    public static void WriteLedgerKey(Span<byte> destination, long ledgerId) =>
        BinaryPrimitives.WriteInt64BigEndian(destination, ledgerId);

    public static long ReadLedgerKey(ReadOnlySpan<byte> key) => BinaryPrimitives.ReadInt64BigEndian(key);

    /// <summary>[version u8][flags u8][masterKeyLength + 1 u16, 0 for none][lastAddConfirmed i64][masterKey].</summary>
    public static byte[] EncodeInfo(LedgerInfo info)
    {
        var masterKey = info.MasterKey ?? [];
        if (masterKey.Length >= ushort.MaxValue)
        {
            throw new ArgumentException($"A master key may hold at most {ushort.MaxValue - 1} bytes, got {masterKey.Length}.", nameof(info));
        }

        var value = new byte[InfoFixedSize + masterKey.Length];
        value[0] = InfoVersion;
        value[1] = info.Fenced ? FencedFlag : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(value.AsSpan(2), (ushort)(info.MasterKey is null ? 0 : masterKey.Length + 1));
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(4), info.LastAddConfirmed);
        masterKey.CopyTo(value.AsSpan(InfoFixedSize));
        return value;
    }

    public static LedgerInfo DecodeInfo(ReadOnlySpan<byte> value, long ledgerId)
    {
        if (value.Length < InfoFixedSize || value[0] != InfoVersion)
        {
            throw new InvalidDataException($"Ledger index: info of ledger {ledgerId} is damaged or of an unknown version ({value.Length} bytes).");
        }

        var storedKeyLength = BinaryPrimitives.ReadUInt16LittleEndian(value[2..]);
        var keyLength = Math.Max(storedKeyLength - 1, 0);
        if (value.Length != InfoFixedSize + keyLength)
        {
            throw new InvalidDataException($"Ledger index: info of ledger {ledgerId} is {value.Length} bytes, expected {InfoFixedSize + keyLength}.");
        }

        return new LedgerInfo(
            Fenced: (value[1] & FencedFlag) != 0,
            LastAddConfirmed: BinaryPrimitives.ReadInt64LittleEndian(value[4..]),
            MasterKey: storedKeyLength == 0 ? null : value[InfoFixedSize..].ToArray());
    }
}
