namespace Tiered.Bookie.Storage;

/// <summary>What <see cref="EntryLogger.Compact"/> did to one log.</summary>
/// <param name="LogId">The compacted (and now deleted) log.</param>
/// <param name="EntriesMoved">Live entries copied into the current log.</param>
/// <param name="BytesMoved">Record bytes (headers included) copied.</param>
/// <param name="EntriesDropped">Entries of dead ledgers left behind.</param>
/// <param name="BytesReclaimed">Size of the deleted file.</param>
internal sealed record EntryLogCompactionResult(long LogId, long EntriesMoved, long BytesMoved, long EntriesDropped, long BytesReclaimed);
