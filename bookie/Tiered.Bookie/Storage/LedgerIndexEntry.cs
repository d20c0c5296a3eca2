namespace Tiered.Bookie.Storage;

/// <summary>One row of the entry index: entry (<see cref="LedgerId"/>, <see cref="EntryId"/>) lives at <see cref="Location"/>.</summary>
internal readonly record struct LedgerIndexEntry(long LedgerId, long EntryId, EntryLocation Location);
