namespace Tiered.Bookie.Storage;

/// <summary>
/// A record read back by <see cref="Journal.Replay"/>. <see cref="Payload"/> points into a buffer the
/// replay reuses: it is valid only until the enumerator moves on, so copy what must be kept.
/// </summary>
internal readonly record struct JournalRecord(JournalPosition Position, ReadOnlyMemory<byte> Payload);
