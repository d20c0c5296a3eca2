namespace Tiered.Bookie.Storage;

/// <summary>Where an entry's bytes live: entry log file <see cref="LogId"/>, at byte <see cref="Offset"/> of that file.</summary>
internal readonly record struct EntryLocation(long LogId, long Offset);
