using System.Buffers.Binary;

namespace Tiered.Ledger;

/// <summary>
/// The digest every entry carries end to end (see bookie.proto): CRC32C over the ledger id,
/// entry id and last add confirmed, each little-endian 64-bit, followed by the payload. The
/// writer computes it, the bookie checks it on add, the reader checks it on every read.
/// </summary>
public static class LedgerDigest
{
    public static uint Compute(long ledgerId, long entryId, long lastAddConfirmed, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(header, ledgerId);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], entryId);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], lastAddConfirmed);
        return Crc32C.Append(Crc32C.Compute(header), payload);
    }

    /// <summary>
    /// The same digest for a prepared payload (<see cref="EntryPayload.Of"/>): when it was checksummed then, only the
    /// 24-byte header is read here, so the cost does not grow with the payload (the writer computes it under its lock).
    /// </summary>
    public static uint Compute(long ledgerId, long entryId, long lastAddConfirmed, in EntryPayload payload)
    {
        if (!payload.IsChecksummed)
            return Compute(ledgerId, entryId, lastAddConfirmed, payload.Bytes.Span);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(header, ledgerId);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], entryId);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], lastAddConfirmed);
        return Crc32C.Combine(Crc32C.Compute(header), payload.Crc, payload.Shift);
    }

    public static bool Verify(long ledgerId, long entryId, long lastAddConfirmed, ReadOnlySpan<byte> payload, uint digest)
        => Compute(ledgerId, entryId, lastAddConfirmed, payload) == digest;
}
