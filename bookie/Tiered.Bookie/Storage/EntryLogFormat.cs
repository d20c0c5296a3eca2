using System.Buffers.Binary;

namespace Tiered.Bookie.Storage;

/// <summary>
/// On-disk layout of an entry log. A file starts with a <see cref="FileHeaderSize"/>-byte header
/// (magic, format version, log id) followed by records <c>[length u32][ledgerId i64][entryId i64][entry bytes]</c>,
/// all little-endian. An <see cref="EntryLocation.Offset"/> points at a record's length field.
/// </summary>
/// <remarks>
/// Records carry no checksum of their own: the client's CRC32C digest inside the entry catches bit rot.
/// A torn tail is recognised structurally: a short header, a length of zero or above
/// <see cref="MaxEntryBytes"/>, negative ids, or a record running past the end of the file.
/// </remarks>
internal static class EntryLogFormat
{
    public const ulong Magic = 0x474F4C5952544E45; // "ENTRYLOG" read as little-endian bytes

    public const int Version = 1;

    public const int FileHeaderSize = 32;

    public const int RecordHeaderSize = 20;

    public const int MaxEntryBytes = 64 << 20;

    public static string FileName(long logId) => $"{logId:x16}.log";

    public static bool TryParseFileName(string fileName, out long logId)
    {
        logId = 0;
        return fileName.Length == 20
            && fileName.EndsWith(".log", StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(0, 16), System.Globalization.NumberStyles.AllowHexSpecifier, null, out logId)
            && logId >= 0;
    }

    public static void WriteFileHeader(Span<byte> destination, long logId)
    {
        destination[..FileHeaderSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], logId);
    }

    /// <summary>Checks a file header; returns a description of what is wrong, or null when it is good.</summary>
    public static string? CheckFileHeader(ReadOnlySpan<byte> header, long expectedLogId)
    {
        if (header.Length < FileHeaderSize)
        {
            return $"header is {header.Length} bytes, expected {FileHeaderSize}";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != Magic)
        {
            return "bad magic";
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version != Version)
        {
            return $"unsupported format version {version}";
        }

        var logId = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        return logId == expectedLogId ? null : $"header names log {logId}, expected {expectedLogId}";
    }

    public static void WriteRecordHeader(Span<byte> destination, long ledgerId, long entryId, int length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], ledgerId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], entryId);
    }

    public static (uint Length, long LedgerId, long EntryId) ReadRecordHeader(ReadOnlySpan<byte> source) =>
        (BinaryPrimitives.ReadUInt32LittleEndian(source),
         BinaryPrimitives.ReadInt64LittleEndian(source[4..]),
         BinaryPrimitives.ReadInt64LittleEndian(source[12..]));

    /// <summary>Whether a record header read from disk is structurally plausible (the torn-tail test).</summary>
    public static bool IsPlausible(uint length, long ledgerId, long entryId) =>
        length is > 0 and <= MaxEntryBytes && ledgerId >= 0 && entryId >= 0;
}
