namespace Tiered.Ledger;

/// <summary>
/// An entry's payload as <see cref="LedgerWriter.AddEntry"/> takes it: the bytes, not copied, and their CRC-32C,
/// computed when this is made, by the caller, before it takes any lock. The writer only combines that CRC with the
/// entry's header (ledger id, entry id, LAC), which it knows under its lock (see <see cref="LedgerDigest"/>): the
/// payload is read once, and never under a lock.
/// </summary>
public readonly struct EntryPayload
{
    private EntryPayload(ReadOnlyMemory<byte> bytes, uint crc, uint shift) => (Bytes, Crc, Shift) = (bytes, crc, shift);

    /// <summary>
    /// Checksums <paramref name="bytes"/>. They are not copied: they must not change afterwards (the writer sends
    /// them to its bookies, again after an ensemble change, as long as it is open).
    /// </summary>
    public static EntryPayload Of(ReadOnlyMemory<byte> bytes) => new(bytes, Crc32C.Compute(bytes.Span), Crc32C.ShiftOf(bytes.Length));

    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>CRC-32C of <see cref="Bytes"/>.</summary>
    internal uint Crc { get; }

    /// <summary><see cref="Crc32C.ShiftOf"/> the length of <see cref="Bytes"/>.</summary>
    internal uint Shift { get; }
}
