namespace Tiered.Offloader;

/// <summary>One ledger entry: its id and its bytes exactly as the ledger stores them.</summary>
public readonly record struct OffloadEntry(long EntryId, ReadOnlyMemory<byte> Data);
