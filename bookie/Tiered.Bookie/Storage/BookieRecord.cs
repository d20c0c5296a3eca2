using System.Buffers.Binary;

namespace Tiered.Bookie.Storage;

/// <summary>
/// The bookie's journal records and the stored form of an entry. An entry is stored exactly as
/// the writer sent it: [last add confirmed i64][digest u32][payload], so a reader can check the
/// writer's digest end to end. Journal records: [kind u8][ledger i64][entry i64][stored entry]
/// for an add, [kind u8][ledger i64] for a fence. All integers little-endian.
/// </summary>
internal static class BookieRecord
{
    public const byte AddKind = 1;
    public const byte FenceKind = 2;
    public const int EntryHeaderSize = 12;
    public const int AddHeaderSize = 17;

    /// <summary>Bytes of the add record of a <paramref name="payloadLength"/>-byte payload.</summary>
    public static int AddLength(int payloadLength) => AddHeaderSize + EntryHeaderSize + payloadLength;

    public static byte[] Add(long ledgerId, long entryId, long lastAddConfirmed, uint digest, ReadOnlySpan<byte> payload)
    {
        var record = new byte[AddLength(payload.Length)];
        WriteAdd(record, ledgerId, entryId, lastAddConfirmed, digest, payload);
        return record;
    }

    /// <summary>Writes the add record into <paramref name="destination"/> (<see cref="AddLength"/> bytes), where it is kept.</summary>
    public static void WriteAdd(Span<byte> destination, long ledgerId, long entryId, long lastAddConfirmed, uint digest, ReadOnlySpan<byte> payload)
    {
        destination[0] = AddKind;
        BinaryPrimitives.WriteInt64LittleEndian(destination[1..], ledgerId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[9..], entryId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[AddHeaderSize..], lastAddConfirmed);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(AddHeaderSize + 8)..], digest);
        payload.CopyTo(destination[(AddHeaderSize + EntryHeaderSize)..]);
    }

    public static byte[] Fence(long ledgerId)
    {
        var record = new byte[9];
        record[0] = FenceKind;
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), ledgerId);
        return record;
    }

    /// <summary>The stored entry inside an add record (no copy).</summary>
    public static ReadOnlyMemory<byte> StoredEntry(ReadOnlyMemory<byte> addRecord) => addRecord[AddHeaderSize..];

    public static (byte Kind, long LedgerId, long EntryId) ReadHeader(ReadOnlySpan<byte> record) => record[0] switch
    {
        AddKind when record.Length >= AddHeaderSize + EntryHeaderSize =>
            (AddKind, BinaryPrimitives.ReadInt64LittleEndian(record[1..]), BinaryPrimitives.ReadInt64LittleEndian(record[9..])),
        FenceKind when record.Length == 9 => (FenceKind, BinaryPrimitives.ReadInt64LittleEndian(record[1..]), -1),
        _ => throw new InvalidDataException($"Unknown journal record (kind {record[0]}, {record.Length} bytes)."),
    };

    public static long LastAddConfirmed(ReadOnlySpan<byte> storedEntry) => BinaryPrimitives.ReadInt64LittleEndian(storedEntry);

    public static uint Digest(ReadOnlySpan<byte> storedEntry) => BinaryPrimitives.ReadUInt32LittleEndian(storedEntry[8..]);

    public static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> storedEntry) => storedEntry[EntryHeaderSize..];
}
