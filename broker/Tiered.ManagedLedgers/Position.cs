namespace Tiered.ManagedLedgers;

/// <summary>
/// Where an entry is in a managed ledger: a ledger and an entry of it. Positions order by ledger
/// id, then entry id (ledger ids grow with time within a managed ledger).
/// </summary>
public readonly record struct Position(long LedgerId, long EntryId) : IComparable<Position>
{
    /// <summary>Before every entry.</summary>
    public static readonly Position Earliest = new(-1, -1);

    /// <summary>After every entry.</summary>
    public static readonly Position Latest = new(long.MaxValue, long.MaxValue);

    public int CompareTo(Position other)
    {
        var byLedger = LedgerId.CompareTo(other.LedgerId);
        return byLedger != 0 ? byLedger : EntryId.CompareTo(other.EntryId);
    }

    public static bool operator <(Position left, Position right) => left.CompareTo(right) < 0;

    public static bool operator >(Position left, Position right) => left.CompareTo(right) > 0;

    public static bool operator <=(Position left, Position right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Position left, Position right) => left.CompareTo(right) >= 0;

    /// <summary>"ledger:entry", as Pulsar prints positions.</summary>
    public override string ToString() => $"{LedgerId}:{EntryId}";
}

/// <summary>An entry read from a managed ledger. <see cref="Data"/> must not be changed.</summary>
public readonly record struct ManagedEntry(Position Position, ReadOnlyMemory<byte> Data);

/// <summary>An acknowledgement: a whole entry (<see cref="BatchIndex"/> -1), or one message of its batch of <see cref="BatchSize"/>.</summary>
public readonly record struct AckPosition(Position Position, int BatchIndex = -1, int BatchSize = 0);

/// <summary>Where a cursor created for the first time starts.</summary>
public enum InitialPosition
{
    /// <summary>After the last entry stored when it is created.</summary>
    Latest,

    /// <summary>At the oldest entry retained.</summary>
    Earliest,
}

/// <summary>How long consumed ledgers are kept: -1 for ever, 0 not at all (the defaults).</summary>
public readonly record struct RetentionPolicy(TimeSpan Time, long SizeBytes)
{
    public static readonly RetentionPolicy None = new(TimeSpan.Zero, 0);
}
