namespace Tiered.Bookie.Storage;

/// <summary>
/// Where a record starts in the journal: byte <see cref="Offset"/> of file <see cref="FileId"/>.
/// Positions order records: a later append always has a greater position.
/// </summary>
internal readonly record struct JournalPosition(long FileId, long Offset) : IComparable<JournalPosition>
{
    /// <summary>Before every record; <c>Replay(Start)</c> returns the whole journal.</summary>
    public static JournalPosition Start => default;

    public int CompareTo(JournalPosition other)
    {
        var byFile = FileId.CompareTo(other.FileId);
        return byFile != 0 ? byFile : Offset.CompareTo(other.Offset);
    }

    public static bool operator <(JournalPosition left, JournalPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(JournalPosition left, JournalPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(JournalPosition left, JournalPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(JournalPosition left, JournalPosition right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{FileId}:{Offset}";
}
