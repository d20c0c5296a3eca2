namespace Tiered.Ledger;

/// <summary>
/// An entry's payload as <see cref="LedgerWriter.AddEntry"/> takes it: the bytes, not copied, and, past
/// <see cref="ChecksumAbove"/> bytes, their CRC-32C, computed when this is made, by the caller, before it takes any
/// lock. The writer then only combines that CRC with the entry's header (ledger id, entry id, LAC), which it knows
/// under its lock (see <see cref="LedgerDigest"/>), so the time it holds the lock does not grow with the payload.
/// A small payload is checksummed under the lock with its header, as that costs less than the combination
/// (100 B: about 20 ns in one pass, against about 60 ns to combine; see EntryDigestBench).
/// </summary>
public readonly struct EntryPayload
{
    /// <summary>Payloads up to this many bytes are checksummed by the writer, under its lock, in one pass with the header.</summary>
    public const int ChecksumAbove = 512;

    private EntryPayload(ReadOnlyMemory<byte> bytes, uint crc, uint shift) => (Bytes, Crc, Shift) = (bytes, crc, shift);

    /// <summary>
    /// Checksums <paramref name="bytes"/> if they are larger than <see cref="ChecksumAbove"/>. They are not copied:
    /// they must not change afterwards (the writer sends them to its bookies, again after an ensemble change, as
    /// long as it is open).
    /// </summary>
    public static EntryPayload Of(ReadOnlyMemory<byte> bytes) => bytes.Length > ChecksumAbove
        ? new(bytes, Crc32C.Compute(bytes.Span), Crc32C.ShiftOf(bytes.Length))
        : new(bytes, 0, 0);

    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>Whether <see cref="Crc"/> and <see cref="Shift"/> hold the payload's checksum.</summary>
    internal bool IsChecksummed => Bytes.Length > ChecksumAbove;

    /// <summary>CRC-32C of <see cref="Bytes"/> (when <see cref="IsChecksummed"/>).</summary>
    internal uint Crc { get; }

    /// <summary><see cref="Crc32C.ShiftOf"/> the length of <see cref="Bytes"/>.</summary>
    internal uint Shift { get; }
}
