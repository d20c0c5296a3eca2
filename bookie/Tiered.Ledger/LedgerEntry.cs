namespace Tiered.Ledger;

/// <summary>One entry of a ledger as a reader gets it back, its digest already verified.</summary>
public sealed record LedgerEntry(long EntryId, ReadOnlyMemory<byte> Payload);
