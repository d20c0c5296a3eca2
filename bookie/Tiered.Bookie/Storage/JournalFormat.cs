using System.Buffers.Binary;
using System.Globalization;

using Tiered.Ledger;

namespace Tiered.Bookie.Storage;

/// <summary>
/// The journal's on-disk layout. A file <c>journal-{id:x16}.log</c> starts with a 16-byte header
/// (magic "TJNL", format version u32, file id u64, little-endian), then records framed as
/// [payload length u32][CRC-32C of payload u32][payload].
/// </summary>
internal static class JournalFormat
{
    public const int HeaderSize = 16;
    public const int FrameHeaderSize = 8;
    public const uint Magic = 0x4C4E4A54u; // "TJNL" read as a little-endian u32
    public const uint Version = 1;

    private const string FilePrefix = "journal-";
    private const string FileSuffix = ".log";

    public static string FileName(long fileId) => $"{FilePrefix}{fileId:x16}{FileSuffix}";

    public static string FilePath(string directory, long fileId) => Path.Combine(directory, FileName(fileId));

    /// <summary>The ids of the journal files in <paramref name="directory"/>, oldest first.</summary>
    public static List<long> ListFiles(string directory)
    {
        var ids = new List<long>();
        foreach (var path in Directory.EnumerateFiles(directory, FilePrefix + "*" + FileSuffix))
        {
            var name = Path.GetFileName(path.AsSpan());
            var digits = name[FilePrefix.Length..^FileSuffix.Length];
            if (digits.Length == 16
                && long.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id)
                && id > 0)
            {
                ids.Add(id);
            }
        }

        ids.Sort();
        return ids;
    }

    public static void WriteHeader(Span<byte> destination, long fileId)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(destination[8..], fileId);
    }

    /// <summary>Null when <paramref name="header"/> is a valid header of file <paramref name="fileId"/>, else why not.</summary>
    public static string? CheckHeader(ReadOnlySpan<byte> header, long fileId)
    {
        if (header.Length < HeaderSize)
        {
            return $"file header is truncated ({header.Length} of {HeaderSize} bytes)";
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic != Magic)
        {
            return $"bad magic 0x{magic:x8}";
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (version != Version)
        {
            return $"unsupported format version {version}";
        }

        var id = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        return id == fileId ? null : $"header names file id {id}";
    }

    /// <summary>Writes the frame of <paramref name="payload"/> to <paramref name="destination"/>; returns its size.</summary>
    public static int WriteFrame(Span<byte> destination, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Crc32C.Compute(payload));
        payload.CopyTo(destination[FrameHeaderSize..]);
        return FrameHeaderSize + payload.Length;
    }
}
